//go:build linux

package weft

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// notifyProtocol hands each DataReceived to fn, on the loop goroutine.
type notifyProtocol struct{ fn func() }

func (p *notifyProtocol) ConnectionMade(*Transport) {}
func (p *notifyProtocol) DataReceived([]byte)       { p.fn() }
func (p *notifyProtocol) EOFReceived() bool         { return false }
func (p *notifyProtocol) ConnectionLost(error)      {}

// Each loop counts only its own calls into Go when it chooses where to wait: an iteration
// of loop a that called nothing but a protocol method is not taken for one that may have
// woken a goroutine because loop b ran a posted function (which may have) meanwhile; the
// iteration of b that ran it is.
func TestDriveCountsEachLoopsOwnWakers(t *testing.T) {
	// Loop goroutines only: set when a's DataReceived or b's posted function ran in the
	// iteration under way, read and cleared by the hook after it.
	var aMarked, bMarked bool
	aWoke := make(chan bool, 1)
	bWoke := make(chan bool, 1)
	a, b := newLoop(t), newLoop(t)
	hook := func(l *Loop, woke bool) {
		switch {
		case l == a && aMarked:
			aMarked = false
			aWoke <- woke
		case l == b && bMarked:
			bMarked = false
			bWoke <- woke
		}
	}
	stepped.Store(&hook)
	defer stepped.Store(nil)

	srv, err := a.ListenTCP(context.Background(), "127.0.0.1", 0, func() Protocol {
		return &notifyProtocol{fn: func() {
			aMarked = true
			// a's thread waits inside this protocol call, within one of a's iterations,
			// until b has run a function posted to it.
			ran := make(chan struct{})
			if err := b.post(func() { bMarked = true; close(ran) }); err != nil {
				panic(err)
			}
			<-ran
		}}
	})
	if err != nil {
		t.Fatal(err)
	}
	port, err := srv.Port()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	// A bound against hanging, not a timing assertion: each arrives within milliseconds.
	bound := time.After(60 * time.Second)
	for got := 0; got < 2; got++ {
		select {
		case woke := <-aWoke:
			if woke {
				t.Error("loop a's iteration that called only DataReceived counted loop b's call into Go")
			}
		case woke := <-bWoke:
			if !woke {
				t.Error("loop b's iteration that ran a posted function did not count it")
			}
		case <-bound:
			t.Fatal("no iteration reported (is the loop driven step by step here?)")
		}
	}
}
