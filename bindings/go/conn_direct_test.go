package weft

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// Writes of mixed sizes from one goroutine, the peer reading as they come: the 1 MiB ones
// fill the socket, so the core alternates between sending from Write and queueing for the loop,
// and the peer must still receive every byte in order.
func TestConnDirectWriteKeepsOrder(t *testing.T) {
	l := newLoop(t)
	c, gc := dialGoPeer(t, l)

	var want bytes.Buffer
	// After each 1 MiB write, many small ones: while the core still sends the big one's
	// rest, the peer's reads make room in the socket, which a Write must not use.
	sizes := []int{1, 1000, 200 << 10, 3, 70 << 10, 1 << 20, 17, 5000}
	for i := 0; i < 300; i++ {
		sizes = append(sizes, 100+i)
	}
	var seq byte
	for round := 0; round < 4; round++ {
		for _, n := range sizes {
			b := make([]byte, n)
			for i := range b {
				b[i] = seq
				seq = seq*31 + 7
			}
			want.Write(b)
		}
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for round := 0; round < 4 && err == nil; round++ {
			off := 0
			for _, n := range sizes {
				chunk := want.Bytes()[(round*sum(sizes))+off : (round*sum(sizes))+off+n]
				if _, err = c.Write(chunk); err != nil {
					break
				}
				off += n
			}
		}
		done <- err
	}()
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(gc, got); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("the bytes differ from offset %d on", i)
	}
	// Once everything has arrived the core is idle again: a small exchange still works.
	checkEchoPeer(t, c, gc, []byte("after the burst"))
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// checkEchoPeer writes msg on c and reads it on the peer gc.
func checkEchoPeer(t *testing.T, c, gc net.Conn, msg []byte) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(gc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %q, want %q", got, msg)
	}
}

// Writes from several goroutines at once: each Write arrives whole (one of 100 KiB is two
// core writes, which no other Write may come between) and each goroutine's in its order.
func TestConnConcurrentWritesStayWhole(t *testing.T) {
	l := newLoop(t)
	c, gc := dialGoPeer(t, l)

	const writers, count = 4, 100
	size := func(seq int) int { return []int{5, 1000, 100 << 10, 64 << 10, 1}[seq%5] }
	// A record: writer, sequence, length (one byte, two, four), then bytes both sides compute.
	record := func(w, seq int) []byte {
		n := size(seq)
		b := make([]byte, 7+n)
		b[0], b[1], b[2] = byte(w), byte(seq), byte(seq>>8)
		b[3], b[4], b[5], b[6] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
		for i := 0; i < n; i++ {
			b[7+i] = byte(w*31 + seq*7 + i)
		}
		return b
	}
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for seq := 0; seq < count; seq++ {
				if _, err := c.Write(record(w, seq)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	next := make([]int, writers)
	for got := 0; got < writers*count; got++ {
		hdr := make([]byte, 7)
		if _, err := io.ReadFull(gc, hdr); err != nil {
			t.Fatal(err)
		}
		w, seq := int(hdr[0]), int(hdr[1])|int(hdr[2])<<8
		n := int(hdr[3]) | int(hdr[4])<<8 | int(hdr[5])<<16 | int(hdr[6])<<24
		if w >= writers || seq != next[w] || n != size(seq) {
			t.Fatalf("record %d: writer %d seq %d len %d", got, w, seq, n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(gc, body); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, record(w, seq)[7:]) {
			t.Fatalf("record %d (writer %d seq %d): its bytes differ", got, w, seq)
		}
		next[w]++
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
