package weft

import (
	"context"
	"io"
	"testing"
)

// go test -run - -bench . : the cost of reaching the loop from another goroutine.

// One closure run on the loop and its answer back: two thread wake-ups.
func BenchmarkCallRoundTrip(b *testing.B) {
	l := benchLoop(b)
	for i := 0; i < b.N; i++ {
		if err := l.call(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// 1000 posts in a row, then one round trip: what batching makes a post cost.
func BenchmarkPostBatched(b *testing.B) {
	l := benchLoop(b)
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.post(func() { n++ }); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			_ = l.call(func() error { return nil })
		}
	}
	_ = l.call(func() error { return nil })
}

// One await of a core future that is done at once (a set Event's wait).
func BenchmarkAwaitOne(b *testing.B) {
	l := benchLoop(b)
	e, _ := l.NewEvent()
	_ = e.Set()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// 1000 awaits in flight at once, per await.
func BenchmarkAwait1000InFlight(b *testing.B) {
	l := benchLoop(b)
	e, _ := l.NewEvent()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		done := make(chan error, 1000)
		for j := 0; j < 1000; j++ {
			go func() { done <- e.Wait(ctx) }()
		}
		_ = e.Set()
		for j := 0; j < 1000; j++ {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		_ = e.Clear()
	}
}

func benchLoop(b *testing.B) *Loop {
	l, err := NewLoop()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	return l
}

// One 1 KiB Conn.Write to a peer that reads everything (Go's net, on its own goroutine):
// the writing goroutine's own send while nothing is queued.
func BenchmarkConnWrite1K(b *testing.B) {
	l := benchLoop(b)
	ln := goListener(b)
	go func() {
		if gc, err := ln.Accept(); err == nil {
			_, _ = io.Copy(io.Discard, gc)
			gc.Close()
		}
	}()
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1024)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
