package paper

// ValidateOp and ValidatePresence as they were before they checked JSON with
// protocol/jsonscan instead of encoding/json, kept (renamed) as the oracle
// the current ones are held to.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
)

// oldValidateOp checks an op on its own (without the element it applies to).
// It returns an error wrapping domain.ErrInvalid or domain.ErrTooLarge.
func oldValidateOp(l Limits, op domain.Op) error {
	if !ValidID(op.ID) {
		return fmt.Errorf("%w: element id must be 1-%d characters of [A-Za-z0-9_-]", domain.ErrInvalid, MaxIDLen)
	}
	switch op.Kind {
	case domain.OpDelete:
		if len(op.Fields) != 0 {
			return fmt.Errorf("%w: delete takes no fields", domain.ErrInvalid)
		}
		return nil
	case domain.OpUpsert:
	default:
		return fmt.Errorf("%w: unknown op %q", domain.ErrInvalid, op.Kind)
	}
	if len(op.Fields) == 0 {
		return fmt.Errorf("%w: fields must be a non-empty object", domain.ErrInvalid)
	}
	if len(op.Fields) > l.MaxFields {
		return fmt.Errorf("%w: at most %d fields per element", domain.ErrTooLarge, l.MaxFields)
	}
	for name, v := range op.Fields {
		if slices.Contains(ReservedFields, name) {
			return fmt.Errorf("%w: field name %q is reserved", domain.ErrInvalid, name)
		}
		if !ValidID(name) {
			return fmt.Errorf("%w: field names must be 1-%d characters of [A-Za-z0-9_-]", domain.ErrInvalid, MaxIDLen)
		}
		if len(v) == 0 || !json.Valid(v) || !utf8.Valid(v) {
			return fmt.Errorf("%w: field %q is not a JSON value", domain.ErrInvalid, name)
		}
		if len(v) > l.MaxValueBytes {
			return fmt.Errorf("%w: field %q is over %d bytes", domain.ErrTooLarge, name, l.MaxValueBytes)
		}
	}
	return nil
}

// oldValidatePresence checks a presence state: a JSON object within the limit.
func oldValidatePresence(l Limits, state json.RawMessage) error {
	if len(state) > l.MaxPresenceBytes {
		return fmt.Errorf("%w: presence state is over %d bytes", domain.ErrTooLarge, l.MaxPresenceBytes)
	}
	if len(state) == 0 || state[0] != '{' || !json.Valid(state) || !utf8.Valid(state) {
		return fmt.Errorf("%w: presence state must be a JSON object", domain.ErrInvalid)
	}
	return nil
}

var validateSeeds = []string{`"hello"`, "10", "null", `{"k":[1,2]}`, "", " ", `"a`, "01", "[1,]", "\"\xff\"", `{"a":1}x`, "true", `"` + strings.Repeat("x", 5000) + `"`, strings.Repeat("[", 10001)}

// TestValidateMatchesTheOldChecks over values valid and not, with one field
// so that which field an error names does not hang on map order.
func TestValidateMatchesTheOldChecks(t *testing.T) {
	for _, v := range validateSeeds {
		compareValidate(t, "n1", "k", v, "", "")
		compareValidate(t, "n1", "k", "1", "k2", v)
	}
}

// FuzzValidateOracle: any op and presence state is judged as before.
func FuzzValidateOracle(f *testing.F) {
	for _, v := range validateSeeds {
		f.Add("n1", "k", v, "", "")
	}
	f.Fuzz(compareValidate)
}

func compareValidate(t *testing.T, id, k1, v1, k2, v2 string) {
	l := DefaultLimits()
	fields := map[string]json.RawMessage{k1: raw(v1)}
	if k2 != "" {
		fields[k2] = raw(v2)
	}
	op := domain.Op{Kind: domain.OpUpsert, ID: id, Fields: fields}
	// With two bad fields, which one an error names hangs on map order,
	// before as now: then only whether the op passes is compared.
	got, want := l.ValidateOp(op), oldValidateOp(l, op)
	if (got == nil) != (want == nil) || len(fields) == 1 && got != nil && got.Error() != want.Error() {
		t.Fatalf("ValidateOp(%q, %.80q) = %v, before %v", id, fields, got, want)
	}
	got, want = l.ValidatePresence(raw(v1)), oldValidatePresence(l, raw(v1))
	if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
		t.Fatalf("ValidatePresence(%q) = %v, before %v", v1, got, want)
	}
}
