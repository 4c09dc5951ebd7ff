package weft

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime/cgo"
	"sync"
	"syscall"
	"time"

	"weft.dev/weft/internal/raw"
)

type readerPtr = raw.SwigcptrStruct_SS_weft_stream_reader_s
type writerPtr = raw.SwigcptrStruct_SS_weft_stream_writer_s
type transportPtr = raw.SwigcptrStruct_SS_weft_transport_s

// writeChunk is the most one core write takes of a Write, so that a large Write to a peer
// that does not read waits between its parts instead of copying all of it into the core.
const writeChunk = 64 * 1024

// writeBufferHigh is the core transport's high-water mark (asyncio's default): above it
// Write waits for the core's drain.
const writeBufferHigh = 64 * 1024

// Conn is a stream connection of the core (TCP, a Unix socket, TLS over either) as a
// net.Conn, usable from any goroutine, with asyncio's StreamReader reads (ReadLine,
// ReadUntil, ReadExactly) besides Read.
//
// A Write goes to the core's thread-safe write from the writing goroutine: on a plain
// socket with nothing queued the core sends it there and then, otherwise it queues the
// bytes for the loop, which takes them in one batch; the Write returns once its bytes are
// sent or queued (waiting only while the connection is above its write-buffer limits).
//
// A Read on a plain socket reads it from the reading goroutine too, as Go's net does: the
// loop hands the socket's reading over to the core's thread-safe read, and Read waits for
// readability in Go's netpoller (on a duplicate of the descriptor, which deadlines and Close
// wake). Over TLS, and while asyncio's reads (ReadLine...) are in use, the loop reads ahead
// into a buffer Read takes from; switching between the two hands the bytes over in order.
type Conn struct{ *connState }

// connState is a Conn's shared half: what the loop's callbacks refer to (the Conn itself
// can then become garbage, which releases the core's objects).
type connState struct {
	l       *Loop
	network string
	laddr   net.Addr
	raddr   net.Addr
	alpn    string

	// Loop goroutine only.
	tr        readerPtr // the transport's reader, which the pump reads from
	r         readerPtr // a reader fed by hand, for asyncio's reads (ReadLine...)
	w         writerPtr
	pumpFut   futPtr // the pump's read in progress, 0 if none
	pumpDone  cgo.Handle
	methods   bool // asyncio's reads are in use: the pump feeds r, not rbuf
	ended     bool // the pump met the end of the stream (eof) or an error (endCode)
	endCode   int
	readFut   futPtr     // the read in progress, 0 if none
	readDone  cgo.Handle // the done callback's data of every read
	readOp    *readOp
	drainFut  futPtr
	drainDone cgo.Handle
	lostFut   futPtr // the core's wait_closed: done once the connection is lost
	lostDone  cgo.Handle
	released  bool

	rmu     sync.Mutex // one read at a time: the core lets one read wait
	readRes chan readResult
	rdl     deadline

	wmu   sync.Mutex // one Write at a time, so the one waiting gets the wake-ups
	wwake chan struct{}
	wdl   deadline
	// wstate guards wt, paused and werr, and closed with mu (set under both): Write holds
	// it across the core's write, so the loop goroutine's reads never wait for a send.
	wstate sync.Mutex

	rwake chan struct{} // Read waits here for the pump

	mu       sync.Mutex
	rbuf     []byte // read ahead by the pump for Read; rbuf[roff:] not yet read
	roff     int
	rerr     error // the pump's end (io.EOF or an error), after rbuf
	pumpIdle bool  // the pump stopped: rbuf was full, or asyncio's reads took over
	// wt is the writer's transport (a reference of the state's own, 0 without a writer or
	// once released), which Write calls from its goroutine under wstate.
	wt     transportPtr
	paused bool  // the transport is above its high-water mark: Write waits for its drain
	werr   error // a failed write or a lost connection: every later Write fails
	closed bool

	// Direct reads (a plain socket): rfile is a duplicate of the socket's descriptor, for
	// Go's netpoller only (the core reads its own descriptor, under its lock); rconn its
	// SyscallConn. Both nil without direct reads; set before the Conn is handed out.
	rfile *os.File
	rconn syscall.RawConn
	// rt is the transport Read calls (a reference of its own, 0 once released), guarded by
	// rtmu so release never lets it go under a read.
	rtmu sync.Mutex
	rt   transportPtr
	// direct (under mu, set on the loop goroutine): Read reads the socket itself.
	direct bool
	// The read the netpoller's callback makes, made once (Read holds rmu): its buffer and
	// the core's answer.
	rdFn  func(uintptr) bool
	rdBuf []byte
	rdRes int64
}

// readOp is one of asyncio's reads: how it starts on the loop.
type readOp struct {
	start func(r readerPtr, out *futPtr) int
}

type readResult struct {
	n    int
	data []byte
	err  error
}

// newConnState makes the state a Conn (or one of a child's pipes) runs on: tr the
// transport's reader the pump reads ahead from, w its writer (either may be 0 for a pipe:
// a nil half), and the reader asyncio's read methods use, which the pump feeds when they
// are called. Loop goroutine.
func newConnState(l *Loop, network string, tr readerPtr, w writerPtr) *connState {
	s := &connState{
		l: l, network: network, w: w,
		readRes: make(chan readResult, 1),
		wwake:   make(chan struct{}, 1),
		rwake:   make(chan struct{}, 1),
		tr:      tr,
	}
	if tr != 0 {
		var hr readerPtr
		if rc := raw.Weft_stream_reader_new(l.ptr, 0, &hr); rc != 0 {
			s.rerr = newNetError(rc, "")
		}
		s.r = hr
	}
	s.readDone = cgo.NewHandle(s.finishRead)
	s.pumpDone = cgo.NewHandle(s.pumped)
	s.drainDone = cgo.NewHandle(s.finishDrain)
	s.lostDone = cgo.NewHandle(s.finishLost)
	if w != 0 {
		s.wt = transportPtr(raw.Weft_transport_retain(raw.Weft_stream_writer_transport(w)).Swigcptr())
		var lf futPtr
		if raw.Weft_stream_wait_closed(w, &lf) == 0 {
			if raw.Weft_future_done(lf) != 0 {
				s.finishLost(lf)
			} else if raw.Weft_future_add_done_callback(lf, raw.WeftgoFutureDone, uintptr(s.lostDone)) == 0 {
				s.lostFut = lf
			} else {
				raw.Weft_future_release(lf)
			}
		}
	}
	return s
}

// newConn wraps a connection's reader and writer (references of its own) on the loop
// goroutine.
func newConn(l *Loop, network string, r readerPtr, w writerPtr) *Conn {
	s := newConnState(l, network, r, w)
	t := raw.Weft_stream_writer_transport(w)
	var buf [128]byte
	if n := raw.Weftgo_extra_info(t, int(raw.WEFT_INFO_SOCKNAME), buf[:]); n > 0 {
		s.laddr = addrOf(network, buf[:n])
	}
	if n := raw.Weftgo_extra_info(t, int(raw.WEFT_INFO_PEERNAME), buf[:]); n > 0 {
		s.raddr = addrOf(network, buf[:n])
	}
	if s.raddr == nil && (network == "unix") {
		s.raddr = &net.UnixAddr{Net: "unix"}
	}
	if s.laddr == nil && (network == "unix") {
		s.laddr = &net.UnixAddr{Net: "unix"}
	}
	if n := raw.Weftgo_extra_info(t, int(raw.WEFT_INFO_TLS_ALPN), buf[:]); n > 1 {
		s.alpn = string(buf[:n-1])
	}
	c := &Conn{s}
	own(l, c, s.release)
	if s.r != 0 && !s.startDirect(transportPtr(t.Swigcptr())) {
		s.pump()
	}
	return c
}

// startDirect sets direct reads up on a plain TCP or Unix socket and hands its reading over
// to Read; false where it cannot (TLS, or no netpoller for the descriptor). Loop goroutine.
func (s *connState) startDirect(t transportPtr) bool {
	var buf [8]byte
	if raw.Weftgo_extra_info(t, int(raw.WEFT_INFO_KIND), buf[:]) != 4 {
		return false
	}
	if kind := int32(binary.NativeEndian.Uint32(buf[:4])); kind != int32(raw.WEFT_TRANSPORT_TCP) && kind != int32(raw.WEFT_TRANSPORT_UNIX) {
		return false
	}
	if raw.Weftgo_extra_info(t, int(raw.WEFT_INFO_FD), buf[:]) != 4 {
		return false
	}
	fd := int(int32(binary.NativeEndian.Uint32(buf[:4])))
	// A duplicate, so that closing it never closes the core's descriptor; libuv made the
	// socket non-blocking, which os.NewFile needs to register it with the netpoller.
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return false
	}
	f := os.NewFile(nfd, "weft-conn")
	rc, err := f.SyscallConn()
	// SetReadDeadline fails for a descriptor the netpoller did not take.
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		_ = f.Close()
		return false
	}
	s.rfile, s.rconn = f, rc
	s.rt = transportPtr(raw.Weft_transport_retain(t).Swigcptr())
	s.rdFn = func(uintptr) bool {
		s.rtmu.Lock()
		if s.rt == 0 {
			s.rdRes = int64(ErrClosed.Code)
		} else {
			s.rdRes = raw.Weftgo_transport_read_threadsafe(uint64(s.rt), s.rdBuf)
		}
		s.rtmu.Unlock()
		return s.rdRes != int64(ErrAgain.Code)
	}
	if s.toDirect() {
		return true
	}
	// The stream ended or closed already: the pump reads it to its end, and the duplicate
	// must not keep the socket open.
	_ = f.Close()
	raw.Weft_transport_release(s.rt)
	s.rfile, s.rconn, s.rt, s.rdFn = nil, nil, 0, nil
	return false
}

// toDirect hands the socket's reading over to Read once the reader the pump reads holds
// nothing more: what it holds (and what a pump read finished with) joins Read's buffer
// first, and the loop reads nothing after. False if the pump must go on (the reader met the
// end, asyncio's reads are in use, no direct reads). Loop goroutine.
func (s *connState) toDirect() bool {
	if s.rconn == nil || s.released || s.methods || s.ended || s.direct {
		return false
	}
	if f := s.pumpFut; f != 0 {
		s.pumpFut = 0
		if raw.Weft_future_done(f) != 0 {
			// Its done callback is still to come: take its bytes now, in their place.
			raw.Weft_future_remove_done_callback(f, raw.WeftgoFutureDone, uintptr(s.pumpDone))
			s.takePumped(f)
		} else {
			dropFuture(f, s.pumpDone) // nothing read yet: the reader keeps what comes
		}
	}
	if n := raw.Weft_stream_reader_buffered(s.tr); n > 0 && !s.ended {
		var f futPtr
		if raw.Weft_stream_read(s.tr, int64(n), &f) == 0 {
			if raw.Weft_future_done(f) != 0 {
				s.takePumped(f)
			} else {
				dropFuture(f, 0)
			}
		}
	}
	if s.ended || raw.Weft_stream_at_eof(s.tr) != 0 || raw.Weft_stream_reader_error(s.tr) != 0 ||
		raw.Weft_transport_set_read_threadsafe(s.rt, 1) != 0 {
		return false
	}
	s.mu.Lock()
	s.direct = true
	s.pumpIdle = false
	s.mu.Unlock()
	s.wakeReader()
	return true
}

// fromDirect takes the socket's reading back to the loop (asyncio's reads need the pump).
// Loop goroutine.
func (s *connState) fromDirect() {
	if !s.direct {
		return
	}
	s.mu.Lock()
	s.direct = false
	s.mu.Unlock()
	raw.Weft_transport_set_read_threadsafe(s.rt, 0)
}

// readDirect reads the socket through the core in this goroutine, waiting in the netpoller
// while it has nothing; again: reading went back to the loop meanwhile. rmu held.
func (s *connState) readDirect(b []byte) (n int, err error, again bool) {
	s.rdBuf = b
	perr := s.rconn.Read(s.rdFn)
	s.rdBuf = nil
	rc := s.rdRes
	if perr != nil {
		if s.isClosed() {
			return 0, net.ErrClosed, false
		}
		if errors.Is(perr, os.ErrDeadlineExceeded) {
			return 0, os.ErrDeadlineExceeded, false
		}
		// The duplicate was closed (the connection was lost or let go): the core says why.
		s.rdBuf = b
		s.rdFn(0)
		s.rdBuf = nil
		if rc = s.rdRes; rc == int64(ErrAgain.Code) {
			rc = int64(ErrClosed.Code)
		}
	}
	switch {
	case rc > 0:
		return int(rc), nil, false
	case rc == 0:
		return 0, io.EOF, false
	case rc == int64(ErrInvalidState.Code):
		return 0, nil, true
	case rc == int64(ErrClosed.Code):
		return 0, net.ErrClosed, false
	}
	return 0, newNetError(int(rc), ""), false
}

// closeDirect closes the duplicate descriptor, which wakes a Read waiting on it: the socket
// must not outlive the core's close for the peer. Waits for a Read in the core to return.
func (s *connState) closeDirect() {
	if s.rfile != nil {
		_ = s.rfile.Close()
	}
}

// release gives the core's objects back (loop goroutine): the writer's last reference
// closes a connection still open.
func (s *connState) release() {
	if s.released {
		return
	}
	s.released = true
	// No Write is in the core once wt is 0 under wstate: the transport may go.
	s.wstate.Lock()
	wt := s.wt
	s.wt = 0
	if s.werr == nil {
		s.werr = net.ErrClosed
	}
	s.wstate.Unlock()
	if wt != 0 {
		raw.Weft_transport_release(wt)
	}
	s.rtmu.Lock()
	rt := s.rt
	s.rt = 0
	s.rtmu.Unlock()
	if rt != 0 {
		raw.Weft_transport_release(rt)
	}
	s.closeDirect()
	if s.readFut != 0 {
		dropFuture(s.readFut, s.readDone)
		s.readFut = 0
		s.readRes <- readResult{err: net.ErrClosed}
	}
	dropFuture(s.drainFut, s.drainDone)
	dropFuture(s.lostFut, s.lostDone)
	dropFuture(s.pumpFut, s.pumpDone)
	s.drainFut, s.lostFut, s.pumpFut = 0, 0, 0
	s.pumpDone.Delete()
	s.readDone.Delete()
	s.drainDone.Delete()
	s.lostDone.Delete()
	raw.Weft_stream_writer_release(s.w)
	raw.Weft_stream_reader_release(s.tr)
	raw.Weft_stream_reader_release(s.r) // accepts 0
	s.mu.Lock()
	if s.rerr == nil {
		s.rerr = net.ErrClosed
	}
	s.mu.Unlock()
	s.wakeWriter()
	s.wakeReader()
}

// dropFuture lets go of a future whose outcome nobody will take: a pending one is
// cancelled and a failed one marked retrieved, so the core reports neither as lost.
func dropFuture(f futPtr, done cgo.Handle) {
	if f == 0 {
		return
	}
	raw.Weft_future_remove_done_callback(f, raw.WeftgoFutureDone, uintptr(done))
	if raw.Weft_future_done(f) == 0 {
		raw.Weft_future_cancel(f, "")
	}
	raw.Weft_future_error(f)
	raw.Weft_future_release(f)
}

func (s *connState) opError(op string, err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: s.network, Source: s.laddr, Addr: s.raddr, Err: err}
}

func (s *connState) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// ---------------------------------------------------------------- reads

// read runs op on the loop and waits for its outcome; the read deadline cancels it there
// (what the core had read by then is still returned).
func (s *connState) read(name string, op *readOp) readResult {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.isClosed() {
		return readResult{err: s.opError(name, net.ErrClosed)}
	}
	if s.rdl.expired() {
		return readResult{err: s.opError(name, os.ErrDeadlineExceeded)}
	}
	if err := s.l.post(func() { s.startRead(op) }); err != nil {
		return readResult{err: s.opError(name, err)}
	}
	var res readResult
	timedOut := false
	select {
	case res = <-s.readRes:
	case <-s.rdl.wait():
		timedOut = true
		_ = s.l.post(s.cancelRead)
		res = <-s.readRes
	}
	if res.err == errReadCancelled {
		if timedOut {
			res.err = os.ErrDeadlineExceeded
		} else {
			res.err = net.ErrClosed
		}
	}
	if res.err != nil && s.isClosed() {
		res.err = net.ErrClosed
	}
	res.err = s.opError(name, res.err)
	return res
}

// errReadCancelled marks a read the core cancelled at our request.
var errReadCancelled = &Error{Code: -3001}

func (s *connState) startRead(op *readOp) {
	if s.released {
		s.readRes <- readResult{err: net.ErrClosed}
		return
	}
	s.toMethods()
	var f futPtr
	if rc := op.start(s.r, &f); rc != 0 {
		s.readRes <- readResult{err: newNetError(rc, "")}
		return
	}
	s.readFut, s.readOp = f, op
	s.pump() // the reader fed by hand needs the transport's data
	if raw.Weft_future_done(f) != 0 {
		s.finishRead(f)
		return
	}
	if rc := raw.Weft_future_add_done_callback(f, raw.WeftgoFutureDone, uintptr(s.readDone)); rc != 0 {
		raw.Weft_future_release(f)
		s.readFut, s.readOp = 0, nil
		s.readRes <- readResult{err: newNetError(rc, "")}
	}
}

func (s *connState) cancelRead() {
	if s.readFut != 0 && raw.Weft_future_done(s.readFut) == 0 {
		raw.Weft_future_cancel(s.readFut, "deadline")
	}
}

// finishRead takes a done read's outcome (loop goroutine).
func (s *connState) finishRead(f futPtr) {
	s.readFut, s.readOp = 0, nil
	var res readResult
	var v raw.SwigcptrWeft_value_t
	rc := raw.Weft_future_result(f, &v)
	switch {
	case rc == 0:
		n := raw.Weftgo_value_copy(v, nil)
		res.data = make([]byte, n)
		raw.Weftgo_value_copy(v, res.data)
	case rc == ErrCancelled.Code:
		res.err = errReadCancelled
	case rc == ErrIncompleteRead.Code:
		partial := make([]byte, raw.Weftgo_stream_partial(f, nil))
		raw.Weftgo_stream_partial(f, partial)
		res.err = &IncompleteReadError{Partial: partial, Expected: int(raw.Weft_stream_error_consumed(f))}
	case rc == ErrLimitOverrun.Code:
		res.err = &LimitOverrunError{Message: raw.Weft_future_error_message(f), Consumed: int(raw.Weft_stream_error_consumed(f))}
	default:
		res.err = newNetError(rc, raw.Weft_future_error_message(f))
	}
	raw.Weft_future_release(f)
	s.readRes <- res
	s.pump()
}

// Read reads what the connection has, up to len(b) bytes; io.EOF at the end of the stream.
// The loop reads ahead (at most pumpAhead bytes) into a buffer Read takes from, so a Read
// costs no handoff to the loop unless it must wake the pump.
func (s *connState) Read(b []byte) (int, error) {
	if s == nil {
		return 0, ErrInval
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return 0, s.opError("read", net.ErrClosed)
		case s.rdl.expired():
			s.mu.Unlock()
			return 0, s.opError("read", os.ErrDeadlineExceeded)
		case len(b) == 0:
			s.mu.Unlock()
			return 0, nil
		case s.roff < len(s.rbuf):
			n := copy(b, s.rbuf[s.roff:])
			s.roff += n
			if s.roff == len(s.rbuf) {
				s.rbuf, s.roff = s.rbuf[:0], 0
			}
			wake := s.pumpIdle && len(s.rbuf)-s.roff < pumpAhead
			if wake {
				s.pumpIdle = false
			}
			s.mu.Unlock()
			if wake {
				_ = s.l.post(s.toRead)
			}
			return n, nil
		case s.rerr != nil:
			err := s.rerr
			s.mu.Unlock()
			return 0, s.opError("read", err)
		case s.direct:
			s.mu.Unlock()
			n, err, again := s.readDirect(b)
			if again {
				continue
			}
			return n, s.opError("read", err)
		}
		wake := s.pumpIdle
		s.pumpIdle = false
		s.mu.Unlock()
		if wake {
			if err := s.l.post(s.toRead); err != nil {
				return 0, s.opError("read", err)
			}
		}
		select {
		case <-s.rwake:
		case <-s.rdl.wait():
		}
	}
}

// pumpAhead is how far the pump reads ahead of Read (asyncio's default reader limit).
const pumpAhead = 64 * 1024

func (s *connState) wakeReader() {
	select {
	case s.rwake <- struct{}{}:
	default:
	}
}

// pump keeps one read of the transport's reader in progress while its data is wanted: by
// Read (rbuf below pumpAhead) or by asyncio's reads (a read waiting, or r within its
// limit). Loop goroutine.
func (s *connState) pump() {
	if s.released || s.pumpFut != 0 || s.ended || s.direct {
		return
	}
	if s.methods {
		if s.readFut == 0 && raw.Weft_stream_reader_buffered(s.r) > raw.Weft_stream_reader_limit(s.r) {
			return
		}
	} else {
		s.mu.Lock()
		full := len(s.rbuf)-s.roff >= pumpAhead || s.closed
		if full {
			s.pumpIdle = true
		}
		s.mu.Unlock()
		if full {
			return
		}
	}
	var f futPtr
	if rc := raw.Weft_stream_read(s.tr, pumpAhead, &f); rc != 0 {
		s.end(rc)
		return
	}
	s.pumpFut = f
	if raw.Weft_future_done(f) != 0 {
		s.pumped(f)
	} else if rc := raw.Weft_future_add_done_callback(f, raw.WeftgoFutureDone, uintptr(s.pumpDone)); rc != 0 {
		raw.Weft_future_release(f)
		s.pumpFut = 0
		s.end(rc)
	}
}

// pumped delivers a pump read's bytes where they are wanted, and reads on.
func (s *connState) pumped(f futPtr) {
	s.pumpFut = 0
	if s.takePumped(f) {
		s.pump()
	}
}

// takePumped delivers (and releases) a done read of the transport's reader: false if it
// was cancelled or ended the stream.
func (s *connState) takePumped(f futPtr) bool {
	var v raw.SwigcptrWeft_value_t
	rc := raw.Weft_future_result(f, &v)
	if rc == ErrCancelled.Code {
		raw.Weft_future_release(f)
		return false
	}
	var n int64
	if rc == 0 {
		n = raw.Weftgo_value_copy(v, nil)
		if n == 0 {
			rc = 1 // the end of the stream
		}
	}
	if rc != 0 {
		raw.Weft_future_release(f)
		s.end(rc)
		return false
	}
	if s.methods {
		buf := make([]byte, n)
		raw.Weftgo_value_copy(v, buf)
		if frc := raw.Weft_stream_feed_data(s.r, buf); frc != 0 {
			raw.Weft_stream_set_error(s.r, frc)
		}
	} else {
		s.mu.Lock()
		old := len(s.rbuf)
		if s.roff > 0 && s.roff == old {
			s.rbuf, s.roff, old = s.rbuf[:0], 0, 0
		}
		s.rbuf = append(s.rbuf, make([]byte, n)...)
		raw.Weftgo_value_copy(v, s.rbuf[old:])
		s.mu.Unlock()
		s.wakeReader()
	}
	raw.Weft_future_release(f)
	return true
}

// end records the end of the stream (code 1) or its error, for whichever reads are in use.
func (s *connState) end(code int) {
	s.ended, s.endCode = true, code
	if code != 1 {
		// A reset or a failure ends both directions.
		s.wstate.Lock()
		if s.werr == nil {
			s.werr = newNetError(code, "")
		}
		s.wstate.Unlock()
		s.wakeWriter()
	}
	if s.methods {
		s.endMethods()
		return
	}
	s.mu.Lock()
	if s.rerr == nil {
		if code == 1 {
			s.rerr = io.EOF
		} else {
			s.rerr = newNetError(code, "")
		}
	}
	s.mu.Unlock()
	s.wakeReader()
}

func (s *connState) endMethods() {
	if s.endCode == 1 {
		raw.Weft_stream_feed_eof(s.r)
	} else {
		raw.Weft_stream_set_error(s.r, s.endCode)
	}
}

// toMethods hands what Read's buffer holds to the reader fed by hand before one of
// asyncio's reads, so no byte changes place in the stream. Loop goroutine.
func (s *connState) toMethods() {
	if s.methods {
		return
	}
	s.fromDirect()
	s.methods = true
	s.mu.Lock()
	s.pumpIdle = true // a Read must hand the pump back (toRead)
	rest := append([]byte(nil), s.rbuf[s.roff:]...)
	s.rbuf, s.roff = s.rbuf[:0], 0
	if s.rerr != nil && s.ended {
		s.rerr = nil // told again through the reader below
	}
	s.mu.Unlock()
	if len(rest) > 0 {
		if rc := raw.Weft_stream_feed_data(s.r, rest); rc != 0 {
			raw.Weft_stream_set_error(s.r, rc)
		}
	}
	if s.ended {
		s.endMethods()
	}
}

// toRead turns the pump back to Read's buffer, which takes over what the reader fed by
// hand still holds. Loop goroutine.
func (s *connState) toRead() {
	if s.released {
		return
	}
	if s.methods && s.readFut == 0 {
		s.methods = false
		if n := raw.Weft_stream_reader_buffered(s.r); n > 0 {
			var f futPtr
			if raw.Weft_stream_read(s.r, int64(n), &f) == 0 {
				var v raw.SwigcptrWeft_value_t
				if raw.Weft_future_done(f) != 0 && raw.Weft_future_result(f, &v) == 0 {
					buf := make([]byte, raw.Weftgo_value_copy(v, nil))
					raw.Weftgo_value_copy(v, buf)
					s.mu.Lock()
					s.rbuf = append(s.rbuf[s.roff:s.roff], append(buf, s.rbuf[s.roff:]...)...)
					s.roff = 0
					s.mu.Unlock()
				}
				raw.Weft_future_error(f)
				raw.Weft_future_release(f)
			}
		}
		if s.ended {
			// The reader fed by hand had the end: Read meets it after the bytes, and a
			// fresh reader takes them back if asyncio's reads come again.
			raw.Weft_stream_reader_release(s.r)
			var hr readerPtr
			if rc := raw.Weft_stream_reader_new(s.l.ptr, 0, &hr); rc != 0 {
				hr = 0
			}
			s.r = hr
			s.ended = false
			s.end(s.endCode)
			s.ended = true
		}
	}
	if !s.toDirect() {
		s.pump()
	}
	s.wakeReader()
}

// ReadLine is asyncio's readline: a line with its "\n", or what is left at the end of the
// stream (empty there). A line longer than the reader's limit fails with a
// *LimitOverrunError and is dropped, as asyncio drops it.
func (s *connState) ReadLine() ([]byte, error) {
	if s == nil {
		return nil, ErrInval
	}
	res := s.read("read", &readOp{start: func(r readerPtr, out *futPtr) int {
		return raw.Weft_stream_readline(r, out)
	}})
	return res.data, res.err
}

// ReadUntil is asyncio's readuntil: the bytes up to and including sep. At the end of the
// stream without sep: *IncompleteReadError with the partial data; past the limit:
// *LimitOverrunError (the data stays to be read).
func (s *connState) ReadUntil(sep []byte) ([]byte, error) {
	if s == nil || len(sep) == 0 {
		return nil, ErrInval
	}
	sep = append([]byte(nil), sep...)
	res := s.read("read", &readOp{start: func(r readerPtr, out *futPtr) int {
		return raw.Weftgo_stream_readuntil(r, sep, out)
	}})
	return res.data, res.err
}

// ReadExactly is asyncio's readexactly: n bytes, or *IncompleteReadError with the partial
// data when the stream ends first.
func (s *connState) ReadExactly(n int) ([]byte, error) {
	if s == nil || n < 0 {
		return nil, ErrInval
	}
	res := s.read("read", &readOp{start: func(r readerPtr, out *futPtr) int {
		return raw.Weft_stream_readexactly(r, int64(n), out)
	}})
	return res.data, res.err
}

// ---------------------------------------------------------------- writes

func (s *connState) wakeWriter() {
	select {
	case s.wwake <- struct{}{}:
	default:
	}
}

// Write sends b, or queues it (copied) in the core where the socket does not take it now.
// It waits while the connection is above its write limits, also between the parts of a b
// larger than writeChunk (so that a Write to a peer that does not read waits, as asyncio's
// write and drain do); a connection lost or closed fails it, with the count of the bytes
// sent or queued before.
func (s *connState) Write(b []byte) (int, error) {
	if s == nil {
		return 0, ErrInval
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	done := 0
	for {
		s.wstate.Lock()
		switch {
		case s.closed:
			s.wstate.Unlock()
			return done, s.opError("write", net.ErrClosed)
		case s.werr != nil:
			err := s.werr
			s.wstate.Unlock()
			return done, s.opError("write", err)
		case s.wdl.expired():
			s.wstate.Unlock()
			return done, s.opError("write", os.ErrDeadlineExceeded)
		case s.wt == 0:
			s.wstate.Unlock()
			return done, s.opError("write", ErrInval)
		case !s.paused:
			if len(b) == done {
				s.wstate.Unlock()
				return done, nil
			}
			part := b[done:]
			if len(part) > writeChunk {
				part = part[:writeChunk]
			}
			size := raw.Weftgo_transport_write_threadsafe(uint64(s.wt), part)
			if size < 0 {
				s.werr = writeError(int(size))
				err := s.werr
				s.wstate.Unlock()
				return done, s.opError("write", err)
			}
			done += len(part)
			drain := size > writeBufferHigh
			if drain {
				s.paused = true
			}
			s.wstate.Unlock()
			if drain {
				// The core posted its flush of these bytes first: the drain, posted after
				// it, finds the transport paused if they made it so.
				if err := s.l.post(s.startDrain); err != nil {
					return done, s.opError("write", err)
				}
			}
			continue
		}
		s.wstate.Unlock()
		select {
		case <-s.wwake:
		case <-s.wdl.wait():
		}
	}
}

// writeError is the error of a failed core write: a reset or a broken pipe as the core
// saw it, and for a connection the core closed (the peer ended it) a broken pipe, as
// writing to a closed socket gives. Close's own net.ErrClosed comes before.
func writeError(code int) error {
	if code == ErrClosed.Code || code == ErrInvalidState.Code {
		code = ErrPipe.Code
	}
	return newNetError(code, "")
}

// startDrain waits for the transport to drain to its low-water mark (loop goroutine);
// Write waits meanwhile.
func (s *connState) startDrain() {
	if s.drainFut != 0 {
		return // the drain in progress ends the pause
	}
	var err error
	if s.released {
		err = net.ErrClosed
	} else {
		var f futPtr
		if rc := raw.Weft_stream_drain(s.w, &f); rc != 0 {
			err = newNetError(rc, "")
		} else if raw.Weft_future_done(f) != 0 {
			s.finishDrain(f)
			return
		} else if rc := raw.Weft_future_add_done_callback(f, raw.WeftgoFutureDone, uintptr(s.drainDone)); rc != 0 {
			raw.Weft_future_release(f)
			err = newNetError(rc, "")
		} else {
			s.drainFut = f
			return
		}
	}
	s.wstate.Lock()
	s.paused = false
	if s.werr == nil {
		s.werr = err
	}
	s.wstate.Unlock()
	s.wakeWriter()
}

func drainError(f futPtr) error {
	var v raw.SwigcptrWeft_value_t
	if rc := raw.Weft_future_result(f, &v); rc != 0 {
		return newNetError(rc, raw.Weft_future_error_message(f))
	}
	return nil
}

func (s *connState) finishDrain(f futPtr) {
	err := drainError(f)
	raw.Weft_future_release(f)
	s.drainFut = 0
	s.wstate.Lock()
	s.paused = false
	if err != nil && s.werr == nil {
		s.werr = err
	}
	s.wstate.Unlock()
	s.wakeWriter()
}

// finishLost records the connection's end: later Writes fail with its error (EPIPE for
// one that ended cleanly, as writing to a closed socket does).
func (s *connState) finishLost(f futPtr) {
	err := drainError(f)
	raw.Weft_future_release(f)
	s.lostFut = 0
	s.closeDirect() // a Read waiting on it learns of the loss from the core
	if err == nil {
		err = newNetError(ErrPipe.Code, "")
	}
	s.wstate.Lock()
	if s.werr == nil {
		s.werr = err
	}
	s.wstate.Unlock()
	s.wakeWriter()
}

// CloseWrite half-closes the connection once the queued bytes are sent (ErrNotsup over TLS,
// which cannot half-close).
func (s *connState) CloseWrite() error {
	if s == nil {
		return ErrInval
	}
	if s.isClosed() {
		return s.opError("close", net.ErrClosed)
	}
	// The core sends what Writes gave it before the end.
	return s.opError("close", s.l.call(func() error {
		if s.released {
			return net.ErrClosed
		}
		if rc := raw.Weft_stream_write_eof(s.w); rc != 0 {
			return newNetError(rc, "")
		}
		return nil
	}))
}

// Close closes the connection once the queued bytes are sent; a Read or Write waiting in
// another goroutine returns net.ErrClosed. Closing twice returns net.ErrClosed.
func (s *connState) Close() error {
	if s == nil {
		return ErrInval
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.opError("close", net.ErrClosed)
	}
	s.wstate.Lock()
	s.closed = true
	s.wstate.Unlock()
	s.mu.Unlock()
	s.wakeWriter()
	s.wakeReader()
	s.closeDirect()
	err := s.l.post(func() {
		if s.released {
			return
		}
		s.cancelRead()
		raw.Weft_stream_close(s.w)
	})
	if err == ErrLoopClosed {
		return nil // the loop closed the connection already
	}
	return s.opError("close", err)
}

// LocalAddr and RemoteAddr are the connection's addresses (a *net.TCPAddr or *net.UnixAddr).
func (s *connState) LocalAddr() net.Addr  { return s.laddr }
func (s *connState) RemoteAddr() net.Addr { return s.raddr }

// NegotiatedProtocol is the ALPN protocol TLS agreed on ("" if none, or not TLS).
func (s *connState) NegotiatedProtocol() string { return s.alpn }

func (s *connState) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)
	s.wdl.set(t)
	return nil
}

func (s *connState) SetReadDeadline(t time.Time) error {
	s.rdl.set(t)
	if s.rfile != nil {
		_ = s.rfile.SetReadDeadline(t) // fails only once closed
	}
	return nil
}

func (s *connState) SetWriteDeadline(t time.Time) error { s.wdl.set(t); return nil }

var _ net.Conn = (*Conn)(nil)
