package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/papercast/papercast/delivery/guestauth"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/moderation"
	"github.com/papercast/papercast/usecase"
)

// The content filter is the use case's port as it is.
var _ usecase.ContentFilter = (*moderation.Filter)(nil)

// guestSigner builds the signer of guest tokens from auth.guest_secret (and
// the previous secrets, which still verify). Without a secret it generates
// one for this process and says so, never what it is: tokens then verify on
// this process only, until it stops.
func guestSigner(c AuthConfig, log *slog.Logger) (*guestauth.Signer, error) {
	secret := c.GuestSecret
	if secret == "" {
		secret = guestauth.GenerateSecret()
		log.Info("auth.guest_secret is empty: generated a guest token secret for this process; " +
			"set one shared secret on every replica so guest identities survive reconnects to another replica and restarts")
	}
	s, err := guestauth.New(guestauth.Options{Secret: secret, Previous: c.GuestSecretPrevious})
	if err != nil {
		return nil, fmt.Errorf("config auth.guest_secret: %w", err)
	}
	if c.TrustQueryUser {
		log.Warn("auth.trust_query_user is on: a session without a guest token is whoever ?user= says, " +
			"so anyone who knows a user id can act as that person; for development and test harnesses only")
	}
	return s, nil
}

// guestIdentity is who a session is in guest mode (no JWT). A valid guest
// token for this paper (`?token=`) names the user, whatever `?user=` says.
// Without one (none, or forged, tampered with, expired, for another paper:
// all treated alike, so a stale token costs its holder the old identity and
// nothing else) the session gets a fresh server-minted user id, or with
// trustQueryUser the `user` param as protocol v1 took it. Every session is
// issued a token for its user on this paper, sent in its first frame.
func guestIdentity(s *guestauth.Signer, trustQueryUser bool) func(r *http.Request, paperID string) (ws.Identity, error) {
	return func(r *http.Request, paperID string) (ws.Identity, error) {
		q := r.URL.Query()
		who := ws.Identity{Name: q.Get("name")}
		if t := q.Get("token"); t != "" {
			if user, err := s.Verify(paperID, t); err == nil {
				who.User = user
			}
		}
		if who.User == "" && trustQueryUser {
			v1, err := ws.QueryIdentity(r, paperID)
			if err != nil {
				return ws.Identity{}, err
			}
			who.User = v1.User
		}
		if who.User == "" {
			who.User = guestauth.NewUserID()
		}
		if err := ws.ValidIdentity(who); err != nil {
			return ws.Identity{}, err
		}
		token, err := s.Issue(paperID, who.User)
		if err != nil {
			return ws.Identity{}, fmt.Errorf("%w: %w", domain.ErrInvalid, err)
		}
		who.Token = token
		return who, nil
	}
}

// contentFilter builds the content filter of the moderation section; nil
// when it has no words (off).
func contentFilter(c ModerationConfig, log *slog.Logger) (usecase.ContentFilter, error) {
	f, err := moderation.New(moderation.Config{
		BlockedWords: c.BlockedWords, BlockedWordsFile: c.BlockedWordsFile, Policy: moderation.Policy(c.Policy),
	})
	if err != nil {
		return nil, fmt.Errorf("config moderation: %w", err)
	}
	if !f.Enabled() {
		return nil, nil
	}
	log.Info("content filter on", "words", f.Words(), "policy", string(f.Policy()))
	return f, nil
}
