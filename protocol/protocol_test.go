package protocol

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
)

func TestDecodeClient(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ClientFrame
		wantErr error
		wantRef string
	}{
		{name: "upsert", in: `{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday!","x":10,"y":20,"color":"#ffd"}}`,
			want: ClientFrame{Type: "upsert", Ref: "a1", ID: "n1", Fields: map[string]json.RawMessage{"text": json.RawMessage(`"Happy birthday!"`), "x": json.RawMessage("10"), "y": json.RawMessage("20"), "color": json.RawMessage(`"#ffd"`)}}},
		{name: "upsert compacts values", in: `{"type":"upsert","id":"n1","fields":{"o": { "a" : [1, 2] }}}`,
			want: ClientFrame{Type: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"o": json.RawMessage(`{"a":[1,2]}`)}}},
		{name: "null field kept", in: `{"type":"upsert","id":"n1","fields":{"text":null}}`,
			want: ClientFrame{Type: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"text": json.RawMessage("null")}}},
		{name: "delete", in: `{"type":"delete","ref":"a2","id":"n1"}`, want: ClientFrame{Type: "delete", Ref: "a2", ID: "n1"}},
		{name: "presence", in: `{"type":"presence","state":{"cursor":{"x":1,"y":2},"typing":"n1"}}`,
			want: ClientFrame{Type: "presence", State: json.RawMessage(`{"cursor":{"x":1,"y":2},"typing":"n1"}`)}},
		{name: "escaped strings decoded", in: `{"type":"delete","ref":"a\"b\u00e9","id":"n\u0031"}`, want: ClientFrame{Type: "delete", Ref: "a\"bé", ID: "n1"}},
		{name: "unknown keys ignored", in: `{"type":"delete","id":"n1","extra":[1]}`, want: ClientFrame{Type: "delete", ID: "n1"}},
		{name: "leading whitespace", in: " \n{\"type\":\"delete\",\"id\":\"n1\"}\n", want: ClientFrame{Type: "delete", ID: "n1"}},
		{name: "claim", in: `{"type":"claim","ref":"c1","ownerKey":"3q2-7wEAAAA"}`, want: ClientFrame{Type: "claim", Ref: "c1", OwnerKey: "3q2-7wEAAAA"}},
		{name: "claim with an empty key", in: `{"type":"claim","ownerKey":""}`, want: ClientFrame{Type: "claim"}},
		{name: "claim without a key", in: `{"type":"claim","ref":"c1"}`, wantErr: domain.ErrInvalid, wantRef: "c1"},
		{name: "claim key not a string", in: `{"type":"claim","ref":"c1","ownerKey":42}`, wantErr: domain.ErrInvalid, wantRef: "c1"},
		{name: "ban", in: `{"type":"ban","ref":"b1","user":"u \"7\""}`, want: ClientFrame{Type: "ban", Ref: "b1", User: `u "7"`}},
		{name: "ban without a user", in: `{"type":"ban","ref":"b1"}`, wantErr: domain.ErrInvalid, wantRef: "b1"},
		{name: "ban user not a string", in: `{"type":"ban","ref":"b1","user":null}`, wantErr: domain.ErrInvalid, wantRef: "b1"},
		{name: "malformed", in: `{"type":"upsert"`, wantErr: domain.ErrInvalid},
		{name: "not an object", in: `[1,2]`, wantErr: domain.ErrInvalid},
		{name: "empty", in: ``, wantErr: domain.ErrInvalid},
		{name: "trailing data", in: `{"type":"delete","id":"n1"} {}`, wantErr: domain.ErrInvalid},
		{name: "trailing garbage", in: `{"type":"delete","id":"n1"}x`, wantErr: domain.ErrInvalid},
		{name: "type case-sensitive", in: `{"type":"Upsert","ref":"r","id":"n1","fields":{"a":1}}`, wantErr: domain.ErrUnsupported, wantRef: "r"},
		{name: "key case-sensitive", in: `{"TYPE":"delete","id":"n1"}`, wantErr: domain.ErrInvalid},
		{name: "unknown type", in: `{"type":"launch","ref":"r9"}`, wantErr: domain.ErrUnsupported, wantRef: "r9"},
		{name: "missing type", in: `{"ref":"r1"}`, wantErr: domain.ErrInvalid, wantRef: "r1"},
		{name: "type not string", in: `{"type":5}`, wantErr: domain.ErrInvalid},
		{name: "ref not string", in: `{"type":"delete","id":"n1","ref":7}`, wantErr: domain.ErrInvalid},
		{name: "ref too long", in: `{"type":"delete","id":"n1","ref":"` + strings.Repeat("r", 65) + `"}`, wantErr: domain.ErrInvalid},
		{name: "id not string", in: `{"type":"delete","ref":"x","id":1}`, wantErr: domain.ErrInvalid, wantRef: "x"},
		{name: "missing id", in: `{"type":"delete"}`, wantErr: domain.ErrInvalid},
		{name: "fields missing", in: `{"type":"upsert","id":"n1"}`, wantErr: domain.ErrInvalid},
		{name: "fields empty", in: `{"type":"upsert","id":"n1","fields":{}}`, wantErr: domain.ErrInvalid},
		{name: "fields array", in: `{"type":"upsert","id":"n1","fields":[]}`, wantErr: domain.ErrInvalid},
		{name: "fields null", in: `{"type":"upsert","id":"n1","fields":null}`, wantErr: domain.ErrInvalid},
		{name: "state not object", in: `{"type":"presence","state":"x"}`, wantErr: domain.ErrInvalid},
		{name: "invalid utf8", in: "{\"type\":\"upsert\",\"id\":\"n1\",\"fields\":{\"t\":\"\xff\"}}", wantErr: domain.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClient([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var de *DecodeError
				if !errors.As(err, &de) || de.Ref != tt.wantRef {
					t.Fatalf("ref = %+v, want %q", de, tt.wantRef)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOpFrameRoundTrip(t *testing.T) {
	op := domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"y": json.RawMessage("2"), "text": json.RawMessage(`"a\"b"`), "gone": json.RawMessage("null")}}
	by := domain.Author{Session: "s1", User: "u<1>", Name: "Ada"}
	frame := OpFrame(42, OpBody(op, by))
	want := `{"type":"op","seq":42,"op":"upsert","id":"n1","fields":{"gone":null,"text":"a\"b","y":2},"by":{"session":"s1","user":"u\u003c1\u003e","name":"Ada"}}`
	if string(frame) != want {
		t.Fatalf("frame\n got %s\nwant %s", frame, want)
	}
	var decoded map[string]any
	if err := json.Unmarshal(frame, &decoded); err != nil {
		t.Fatalf("op frame is not JSON: %v", err)
	}
	kind, seq, ok := EventHeader(frame)
	if !ok || kind != "op" || seq != 42 {
		t.Fatalf("EventHeader = %q %d %v", kind, seq, ok)
	}
	del := OpFrame(7, OpBody(domain.Op{Kind: "delete", ID: "n1"}, by))
	if string(del) != `{"type":"op","seq":7,"op":"delete","id":"n1","by":{"session":"s1","user":"u\u003c1\u003e","name":"Ada"}}` {
		t.Fatalf("delete frame %s", del)
	}
}

func TestEventHeader(t *testing.T) {
	tests := []struct {
		in   string
		kind string
		seq  uint64
		ok   bool
	}{
		{string(FinalizedFrame(9)), "finalized", 9, true},
		{string(DeletedFrame()), "deleted", 0, true},
		{string(PolicyFrame(12, domain.EditOpen)), "policy", 12, true},
		{string(BanFrame("u7")), "ban", 0, true},
		{string(PresenceFrame("join", domain.Presence{Session: "s"})), "presence", 0, true},
		{`{"type":"op","seq":}`, "", 0, false},
		{`{"type":"op","seq":99999999999999999999999}`, "", 0, false},
		{`garbage`, "", 0, false},
		{`{"type":"op`, "", 0, false},
	}
	for _, tt := range tests {
		kind, seq, ok := EventHeader([]byte(tt.in))
		if kind != tt.kind || seq != tt.seq || ok != tt.ok {
			t.Errorf("EventHeader(%s) = %q %d %v, want %q %d %v", tt.in, kind, seq, ok, tt.kind, tt.seq, tt.ok)
		}
	}
}

// TestElementsCarryTheirAuthor pins the element object: id, then the
// server-stamped by (name omitted when empty) and createdAt, then the
// fields; an element stored before authors were recorded has neither.
func TestElementsCarryTheirAuthor(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 7, 0, time.FixedZone("CET", 3600))
	els := []domain.Element{
		{ID: "n1", By: domain.ElementAuthor{User: "u1", Name: `Ana "A"`}, CreatedAt: at, Fields: map[string]json.RawMessage{"x": json.RawMessage("1")}},
		{ID: "n2", By: domain.ElementAuthor{User: "u2"}, CreatedAt: at},
		{ID: "n3", Fields: map[string]json.RawMessage{"y": json.RawMessage("2")}},
	}
	want := `[{"id":"n1","by":{"user":"u1","name":"Ana \"A\""},"createdAt":"2026-11-25T11:00:07Z","x":1},` +
		`{"id":"n2","by":{"user":"u2"},"createdAt":"2026-11-25T11:00:07Z"},{"id":"n3","y":2}]`
	if got := string(AppendElements(nil, els)); got != want {
		t.Fatalf("elements:\n got %s\nwant %s", got, want)
	}
}

func TestAckWithoutSeq(t *testing.T) {
	if got, want := string(AckFrame("c1", 0)), `{"type":"ack","ref":"c1"}`; got != want {
		t.Errorf("ack of a claim: %s, want %s", got, want)
	}
	if got, want := string(AckFrame("a1", 42)), `{"type":"ack","ref":"a1","seq":42}`; got != want {
		t.Errorf("ack of an op: %s, want %s", got, want)
	}
}

func TestPolicyAndBanFrames(t *testing.T) {
	if got, want := string(PolicyFrame(7, domain.EditOpen)), `{"type":"policy","seq":7,"edit":"open"}`; got != want {
		t.Errorf("policy frame %s, want %s", got, want)
	}
	for _, user := range []string{"u7", `a "quoted" user`, "ünï 🎉"} {
		f := BanFrame(user)
		if got, ok := BannedUser(f); !ok || got != user {
			t.Errorf("BannedUser(%s) = %q %v, want %q", f, got, ok, user)
		}
	}
	for _, f := range []string{`{"type":"ban"}`, `{"type":"ban","user":""}`, string(FinalizedFrame(1)), `{"type":"ban","user":`} {
		if u, ok := BannedUser([]byte(f)); ok {
			t.Errorf("BannedUser(%s) = %q, want not ok", f, u)
		}
	}
}

func TestServerFramesAreJSON(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	doc := domain.Document{
		Paper:    domain.Paper{ID: "p1", Title: "Hi", Status: "open", Seq: 3, Epoch: "e1", CreatedAt: at, Edit: domain.EditAuthors},
		Elements: []domain.Element{{ID: "n1", Fields: map[string]json.RawMessage{"text": json.RawMessage(`"x"`)}}},
	}
	you := You{Author: domain.Author{Session: "s", User: "u", Name: "n"}}
	frames := map[string][]byte{
		"snapshot":       SnapshotFrame(doc, you, nil),
		"snapshot-token": SnapshotFrame(doc, You{Author: you.Author, Token: `g1.a"b`}, nil),
		"snapshot-final": SnapshotFrame(domain.Document{Paper: domain.Paper{ID: "p", Status: "final", FinalizedAt: &at}}, you, []domain.Presence{{Session: "s"}}),
		"resumed":        ResumedFrame("e1", 1, 3, you, []domain.Presence{{Session: "s", State: json.RawMessage(`{"a":1}`)}}),
		"ack":            AckFrame("a1", 3),
		"ack-noref":      AckFrame("", 3),
		"ack-noseq":      AckFrame("c1", 0),
		"error":          ErrorFrame("a1", CodeInvalid, `bad "thing"`),
		"presence":       PresenceFrame("update", domain.Presence{Session: "s", State: json.RawMessage(`{"c":1}`)}),
		"leave":          PresenceFrame("leave", domain.Presence{Session: "s", State: json.RawMessage(`{"c":1}`)}),
		"finalized":      FinalizedFrame(4),
		"policy":         PolicyFrame(5, domain.EditOpen),
		"ban":            BanFrame(`u"7`),
	}
	for name, f := range frames {
		var v map[string]any
		if err := json.Unmarshal(f, &v); err != nil {
			t.Errorf("%s: not JSON: %v: %s", name, err, f)
		}
	}
	var snap struct {
		Elements []map[string]any `json:"elements"`
		Presence []any            `json:"presence"`
		Seq      uint64           `json:"seq"`
		Paper    PaperJSON        `json:"paper"`
	}
	_ = json.Unmarshal(frames["snapshot"], &snap)
	if snap.Presence == nil || len(snap.Presence) != 0 || snap.Seq != 3 || snap.Elements[0]["id"] != "n1" || snap.Paper.CreatedAt != "2026-11-25T12:00:00Z" || snap.Paper.Edit != "authors" {
		t.Fatalf("snapshot decoded to %+v", snap)
	}
	var leave struct{ State map[string]any }
	_ = json.Unmarshal(frames["leave"], &leave)
	if len(leave.State) != 0 {
		t.Fatal("leave carries state")
	}
}

// decodeSeeds seed FuzzDecodeClient and FuzzDecodeClientOracle.
var decodeSeeds = []string{
	`{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday!","x":10,"y":20,"color":"#ffd"}}`,
	`{"type":"delete","ref":"a2","id":"n1"}`,
	`{"type":"presence","state":{"cursor":{"x":1,"y":2},"typing":"n1"}}`,
	`{"type":"upsert","id":"n1","fields":{"t":null}}`,
	`{"type":"upsert","id":"n1","fields":{}}`,
	`{"type":"x"}`, `[]`, `{`, "\xff", `{"type":"delete","id":"n1"} {}`,
	`{"type":"claim","ref":"c1","ownerKey":"k"}`, `{"type":"ban","ref":"b1","user":"u7"}`, `{"type":"ban","user":1}`,
}

// FuzzDecodeClient checks that any input either decodes to a frame the
// paper rules can judge or fails with a protocol error, never panics, and
// that accepted upserts re-encode to valid JSON op frames.
func FuzzDecodeClient(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	limits := paper.DefaultLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeClient(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DecodeError: %v", err)
			}
			if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrUnsupported) {
				t.Fatalf("error kind: %v", err)
			}
			if len(de.Ref) > MaxRefLen {
				t.Fatal("ref over limit echoed")
			}
			return
		}
		switch fr.Type {
		case TypeUpsert, TypeDelete:
			if err := limits.ValidateOp(fr.Op()); err != nil {
				return
			}
			frame := OpFrame(1, OpBody(fr.Op(), domain.Author{Session: "s", User: "u"}))
			if !json.Valid(frame) {
				t.Fatalf("op frame not JSON: %s", frame)
			}
		case TypePresence:
			_ = limits.ValidatePresence(fr.State)
		case TypeClaim:
		case TypeBan:
			if err := paper.ValidateUser(fr.User); err != nil && !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("ban user check: %v", err)
			}
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
		if !slices.Contains(ClientTypes(), fr.Type) {
			t.Fatalf("accepted type %q, which ClientTypes does not list", fr.Type)
		}
	})
}

func BenchmarkDecodeAndValidateUpsert(b *testing.B) {
	frame := []byte(`{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday! Have a wonderful day","x":10,"y":20,"color":"#ffd"}}`)
	limits := paper.DefaultLimits()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		f, err := DecodeClient(frame)
		if err != nil {
			b.Fatal(err)
		}
		if err := limits.ValidateOp(f.Op()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeOpEvent(b *testing.B) {
	op := domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{
		"text": json.RawMessage(`"Happy birthday! Have a wonderful day"`), "x": json.RawMessage("10"), "y": json.RawMessage("20"), "color": json.RawMessage(`"#ffd"`)}}
	by := domain.Author{Session: "SNmC0_w9iLx-hpc-", User: "ada", Name: "Ada"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = OpFrame(uint64(i), OpBody(op, by))
	}
}

// BenchmarkDecodeClientUpsert is the decode alone, without the rules.
func BenchmarkDecodeClientUpsert(b *testing.B) {
	frame := []byte(`{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday! Have a wonderful day","x":10,"y":20,"color":"#ffd"}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		if _, err := DecodeClient(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendOpEvent is BenchmarkEncodeOpEvent into a buffer the
// caller reuses: what a writer that batches frames pays.
func BenchmarkAppendOpEvent(b *testing.B) {
	op := domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{
		"text": json.RawMessage(`"Happy birthday! Have a wonderful day"`), "x": json.RawMessage("10"), "y": json.RawMessage("20"), "color": json.RawMessage(`"#ffd"`)}}
	by := domain.Author{Session: "SNmC0_w9iLx-hpc-", User: "ada", Name: "Ada"}
	var body, frame []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		body = AppendOpBody(body[:0], op, by)
		frame = AppendOpFrame(frame[:0], uint64(i), body)
	}
}

func BenchmarkEventHeader(b *testing.B) {
	frame := OpFrame(123456, []byte(`"op":"delete","id":"n1","by":{"session":"s","user":"u"}}`))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, ok := EventHeader(frame); !ok {
			b.Fatal("header")
		}
	}
}

func TestPresenceHeader(t *testing.T) {
	tests := []struct {
		frame          []byte
		event, session string
		ok             bool
	}{
		{PresenceFrame("join", domain.Presence{Session: "s-1", User: "u", State: json.RawMessage(`{"a":1}`)}), "join", "s-1", true},
		{PresenceFrame("leave", domain.Presence{Session: "abc"}), "leave", "abc", true},
		{FinalizedFrame(3), "", "", false},
		{[]byte(`{"type":"presence","event":"x"`), "", "", false},
	}
	for _, tt := range tests {
		e, s, ok := PresenceHeader(tt.frame)
		if e != tt.event || s != tt.session || ok != tt.ok {
			t.Errorf("PresenceHeader(%s) = %q %q %v", tt.frame, e, s, ok)
		}
	}
}

// TestAuthorAndPresenceObjectsKeepTheDocumentedForms pins the wire form of
// every object that says who someone is, with and without a name: an op's
// `by` omits an empty name; `you`, presence entries and presence frames
// always carry it; presence state is {} when empty and on a leave; `you`
// carries a token only when the session was issued one (guest mode).
func TestAuthorAndPresenceObjectsKeepTheDocumentedForms(t *testing.T) {
	named := domain.Author{Session: "s1", User: "u1", Name: "Ana"}
	anon := domain.Author{Session: "s2", User: "u2"}
	state := json.RawMessage(`{"cursor":{"x":1}}`)
	doc := domain.Document{Paper: domain.Paper{ID: "p", Status: "open", Epoch: "e", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Edit: domain.EditAuthors}}
	presence := []domain.Presence{{Session: "s1", User: "u1", Name: "Ana", State: state}, {Session: "s2", User: "u2"}}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"op by with a name", OpFrame(1, OpBody(domain.Op{Kind: "delete", ID: "n1"}, named)),
			`{"type":"op","seq":1,"op":"delete","id":"n1","by":{"session":"s1","user":"u1","name":"Ana"}}`},
		{"op by without a name", OpFrame(2, OpBody(domain.Op{Kind: "upsert", ID: "n1", Fields: map[string]json.RawMessage{"b": json.RawMessage("2"), "a": json.RawMessage("1")}}, anon)),
			`{"type":"op","seq":2,"op":"upsert","id":"n1","fields":{"a":1,"b":2},"by":{"session":"s2","user":"u2"}}`},
		{"snapshot you without a name, presence entries", SnapshotFrame(doc, You{Author: anon}, presence),
			`{"type":"snapshot","epoch":"e","seq":0,"you":{"session":"s2","user":"u2","name":""},"paper":{"id":"p","title":"","to":"","status":"open","createdAt":"2026-01-02T03:04:05Z","edit":"authors"},"elements":[],` +
				`"presence":[{"session":"s1","user":"u1","name":"Ana","state":{"cursor":{"x":1}}},{"session":"s2","user":"u2","name":"","state":{}}]}`},
		{"resumed you with a name", ResumedFrame("e", 1, 2, You{Author: named}, nil),
			`{"type":"resumed","epoch":"e","from":1,"seq":2,"you":{"session":"s1","user":"u1","name":"Ana"},"presence":[]}`},
		{"snapshot you with a guest token", SnapshotFrame(doc, You{Author: anon, Token: "g1.x.y"}, nil),
			`{"type":"snapshot","epoch":"e","seq":0,"you":{"session":"s2","user":"u2","name":"","token":"g1.x.y"},"paper":{"id":"p","title":"","to":"","status":"open","createdAt":"2026-01-02T03:04:05Z","edit":"authors"},"elements":[],"presence":[]}`},
		{"resumed you with a guest token", ResumedFrame("e", 1, 2, You{Author: named, Token: "g1.x.y"}, nil),
			`{"type":"resumed","epoch":"e","from":1,"seq":2,"you":{"session":"s1","user":"u1","name":"Ana","token":"g1.x.y"},"presence":[]}`},
		{"presence join without a name", PresenceFrame(PresenceJoin, domain.Presence{Session: "s2", User: "u2"}),
			`{"type":"presence","event":"join","session":"s2","user":"u2","name":"","state":{}}`},
		{"presence update", PresenceFrame(PresenceUpdate, presence[0]),
			`{"type":"presence","event":"update","session":"s1","user":"u1","name":"Ana","state":{"cursor":{"x":1}}}`},
		{"presence leave drops the state", PresenceFrame(PresenceLeave, presence[0]),
			`{"type":"presence","event":"leave","session":"s1","user":"u1","name":"Ana","state":{}}`},
		{"elements with and without fields", AppendElements(nil, []domain.Element{{ID: "n1"}, {ID: "n2", Fields: map[string]json.RawMessage{"y": json.RawMessage("2"), "x": json.RawMessage("1")}}}),
			`[{"id":"n1"},{"id":"n2","x":1,"y":2}]`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

// TestDecodeObjectIsTheStrictPreamble: one JSON object of valid UTF-8 and
// nothing after it, or an error wrapping ErrInvalid that names the input.
func TestDecodeObjectIsTheStrictPreamble(t *testing.T) {
	tests := []struct {
		in   string
		keys int
		err  string
	}{
		{`{"a":1,"A":2}`, 2, ""},
		{" \t\r\n{}\n", 0, ""},
		{"{\"a\":\"\xff\"}", 0, "body is not valid UTF-8"},
		{`[1]`, 0, "body must be one JSON object"},
		{``, 0, "body must be one JSON object"},
		{`null`, 0, "body must be one JSON object"},
		{`{"a":1} {}`, 0, "malformed JSON"},
		{`{"a":1}x`, 0, "malformed JSON"},
		{`{"a":}`, 0, "malformed JSON"},
	}
	for _, tt := range tests {
		top, err := DecodeObject([]byte(tt.in), "body")
		if tt.err == "" {
			if err != nil || len(top) != tt.keys {
				t.Errorf("%q: %v %v", tt.in, top, err)
			}
			continue
		}
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: error %v, want ErrInvalid with %q", tt.in, err, tt.err)
		}
	}
}

// BenchmarkOpPath is everything the codec and the rules do for one upsert
// on its way from the sender's frame to the op frame every receiver gets:
// decode, validate, encode the body, put the seq in front.
func BenchmarkOpPath(b *testing.B) {
	frame := []byte(`{"type":"upsert","ref":"a1","id":"n1","fields":{"text":"Happy birthday! Have a wonderful day","x":10,"y":20,"color":"#ffd"}}`)
	by := domain.Author{Session: "SNmC0_w9iLx-hpc-", User: "ada", Name: "Ada"}
	limits := paper.DefaultLimits()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := DecodeClient(frame)
		if err != nil {
			b.Fatal(err)
		}
		if err := limits.ValidateOp(f.Op()); err != nil {
			b.Fatal(err)
		}
		_ = OpFrame(uint64(i), OpBody(f.Op(), by))
	}
}
