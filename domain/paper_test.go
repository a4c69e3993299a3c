package domain_test

import (
	"testing"

	"github.com/papercast/papercast/domain"
)

// The ETag is part of the REST API (clients send it back in If-None-Match)
// and is stored by the archive: its form must not drift.
func TestETagNamesEpochAndSeq(t *testing.T) {
	for _, tc := range []struct {
		p    domain.Paper
		want string
	}{
		{domain.Paper{Epoch: "e1", Seq: 0}, `"e1-0"`},
		{domain.Paper{Epoch: "AbC_9", Seq: 42}, `"AbC_9-42"`},
		{domain.Paper{Epoch: "e", Seq: 18446744073709551615}, `"e-18446744073709551615"`},
	} {
		if got := tc.p.ETag(); got != tc.want {
			t.Errorf("ETag(%q, %d) = %s, want %s", tc.p.Epoch, tc.p.Seq, got, tc.want)
		}
	}
}
