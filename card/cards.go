package card

import (
	"container/list"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/papercast/papercast/domain"
)

// Defaults of Cards.
const (
	DefaultCacheBytes    = 64 << 20
	DefaultRenderTimeout = 20 * time.Second
)

// Cards serves the cards of documents: rendered once per document version
// and format, kept in a byte-bounded LRU, and rendered once however many
// requests ask for the same card at the same time. Safe for concurrent use.
type Cards struct {
	r       *Renderer
	timeout time.Duration
	cache   *lru
	group   singleflight.Group
	renders atomic.Int64 // renders started (PNG and PDF), for tests
}

// NewCards serves cards drawn by r, caching at most cacheBytes of them;
// one render may take at most timeout.
func NewCards(r *Renderer, cacheBytes int64, timeout time.Duration) *Cards {
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	if timeout <= 0 {
		timeout = DefaultRenderTimeout
	}
	return &Cards{r: r, timeout: timeout, cache: newLRU(cacheBytes)}
}

// Check reports missing font files (see Renderer.Check).
func (s *Cards) Check() error { return s.r.Check() }

// PNG returns the card of doc as a PNG image.
func (s *Cards) PNG(ctx context.Context, doc domain.Document) ([]byte, error) {
	return s.get(ctx, doc, "png")
}

// PDF returns the card of doc as a one-page PDF.
func (s *Cards) PDF(ctx context.Context, doc domain.Document) ([]byte, error) {
	return s.get(ctx, doc, "pdf")
}

// cacheKey names one version of one paper's card: the epoch and seq are
// those of the document's ETag, so a card is stale exactly when the
// document is.
func cacheKey(p domain.Paper, format string) string {
	return p.ID + "/" + p.Epoch + "-" + strconv.FormatUint(p.Seq, 10) + "." + format
}

func (s *Cards) get(ctx context.Context, doc domain.Document, format string) ([]byte, error) {
	key := cacheKey(doc.Paper, format)
	if b, ok := s.cache.get(key); ok {
		return b, nil
	}
	ch := s.group.DoChan(key, func() (b any, err error) {
		// The render is shared by every caller of this key, so it must not
		// end when the caller that started it goes away: it runs on its own
		// deadline.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		defer func() {
			// singleflight re-panics in its own goroutine, which would end
			// the process: a bug in a render fails that render only.
			if p := recover(); p != nil {
				b, err = nil, fmt.Errorf("render card %s: panic: %v", key, p)
			}
		}()
		if b, ok := s.cache.get(key); ok { // rendered while this call started
			return b, nil
		}
		out, err := s.render(rctx, doc, format)
		if err != nil {
			return nil, err
		}
		s.cache.add(key, out)
		return out, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("card: %w", ctx.Err())
	}
}

func (s *Cards) render(ctx context.Context, doc domain.Document, format string) ([]byte, error) {
	s.renders.Add(1)
	c := FromDocument(doc)
	if format == "pdf" {
		png, err := s.get(ctx, doc, "png")
		if err != nil {
			return nil, err
		}
		return PDF(png, c)
	}
	return s.r.PNG(ctx, c)
}

// lru is a cache of byte slices bounded by their total size; the least
// recently used go first.
type lru struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // of *lruEntry, most recent first
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	val []byte
}

func newLRU(max int64) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).val, true
}

// add keeps val under key, evicting the least recently used entries to
// stay within max. A value larger than a quarter of the cache is not kept:
// it would evict many cards for one.
func (c *lru) add(key string, val []byte) {
	n := int64(len(val))
	if n > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.size -= int64(len(e.Value.(*lruEntry).val))
		e.Value.(*lruEntry).val = val
		c.size += n
		c.order.MoveToFront(e)
	} else {
		c.items[key] = c.order.PushFront(&lruEntry{key: key, val: val})
		c.size += n
	}
	for c.size > c.max {
		e := c.order.Back()
		old := e.Value.(*lruEntry)
		c.order.Remove(e)
		delete(c.items, old.key)
		c.size -= int64(len(old.val))
	}
}

// bytes is the total size of the cached values.
func (c *lru) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
