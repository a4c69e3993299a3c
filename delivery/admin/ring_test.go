package admin

import (
	"fmt"
	"testing"
)

func TestRingKeepsTheLastValuesOldestFirst(t *testing.T) {
	for _, tc := range []struct {
		size   int
		pushes int
		want   string
	}{
		{size: 3, pushes: 0, want: "[]"},
		{size: 3, pushes: 1, want: "[1]"},
		{size: 3, pushes: 2, want: "[1 2]"},
		{size: 3, pushes: 3, want: "[1 2 3]"},
		{size: 3, pushes: 4, want: "[2 3 4]"},
		{size: 3, pushes: 5, want: "[3 4 5]"},
		{size: 3, pushes: 6, want: "[4 5 6]"},
		{size: 3, pushes: 7, want: "[5 6 7]"},
		{size: 3, pushes: 100, want: "[98 99 100]"},
		{size: 1, pushes: 0, want: "[]"},
		{size: 1, pushes: 1, want: "[1]"},
		{size: 1, pushes: 2, want: "[2]"},
		{size: 0, pushes: 2, want: "[2]"}, // at least one slot
	} {
		t.Run(fmt.Sprintf("%d into %d", tc.pushes, tc.size), func(t *testing.T) {
			r := newRing[int](tc.size)
			for i := 1; i <= tc.pushes; i++ {
				r.push(i)
			}
			if got := fmt.Sprint(r.items()); got != tc.want {
				t.Errorf("items = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRingItemsIsACopy(t *testing.T) {
	r := newRing[int](2)
	r.push(1)
	r.push(2)
	got := r.items()
	got[0] = 99
	r.push(3)
	if fmt.Sprint(r.items()) != "[2 3]" || got[1] != 2 {
		t.Errorf("items shares the ring's memory: %v, %v", r.items(), got)
	}
}
