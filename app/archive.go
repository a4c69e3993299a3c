package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	pgarchive "github.com/papercast/papercast/repository/archive/postgres"
	sqlitearchive "github.com/papercast/papercast/repository/archive/sqlite"
	"github.com/papercast/papercast/usecase"
)

// openArchive opens the configured archive and applies its migrations (nil
// for driver none). No error it returns holds the DSN or its password.
func openArchive(ctx context.Context, c ArchiveConfig, log *slog.Logger) (usecase.Archive, error) {
	var (
		a   usecase.Archive
		err error
	)
	switch c.Driver {
	case ArchiveNone, "":
		return nil, nil
	default:
		a, err = openArchiveDriver(ctx, c, log)
	}
	if err != nil {
		return nil, &redacted{msg: fmt.Sprintf("open the %s archive: %s", c.Driver, redact(err.Error(), c.DSN)), err: err}
	}
	return a, nil
}

// redacted is an error whose message had the DSN taken out; errors.Is and
// errors.As still see the original.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

var passwordKV = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// redact takes a DSN, and any password in it, out of msg.
func redact(msg, dsn string) string {
	if dsn == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, dsn, "<archive.dsn>")
	var secrets []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	for _, m := range passwordKV.FindAllStringSubmatch(dsn, -1) {
		secrets = append(secrets, strings.Trim(m[2], "'"))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return passwordKV.ReplaceAllString(msg, "${1}xxxxx")
}

var errNoDriver = errors.New("this build has no such archive driver")

// openArchiveDriver opens one driver.
func openArchiveDriver(ctx context.Context, c ArchiveConfig, log *slog.Logger) (usecase.Archive, error) {
	switch c.Driver {
	case ArchiveSQLite:
		a, err := sqlitearchive.Open(ctx, c.DSN, log)
		if err != nil {
			return nil, err
		}
		return a, nil
	case ArchivePostgres:
		a, err := pgarchive.Open(ctx, c.DSN, log)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, errNoDriver
}
