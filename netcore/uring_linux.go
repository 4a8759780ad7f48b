//go:build linux

package netcore

// A minimal io_uring layer for the uring engine (uringloop_linux.go),
// written from the kernel's public ABI (include/uapi/linux/io_uring.h):
// the three system calls, the shared submission and completion rings, the
// 64-byte submission entries (SQEs), the 16-byte completion entries
// (CQEs), and a ring of provided buffers. It covers what the echo engine
// needs and no more.
//
// Memory ordering. The kernel and this process share the rings. We are
// the only producer of the submission ring (its tail) and the only
// consumer of the completion ring (its head); the kernel owns the other
// two indices. An SQE is written with plain stores and published by an
// atomic store of the new tail, which orders it after the entry's bytes
// (Go's atomics are sequentially consistent, at least a release). The
// completion tail is read with an atomic load (at least an acquire)
// before the CQEs it covers are read, and the new head is stored
// atomically after they have been read, so the kernel never overwrites a
// CQE still being read.

import (
	"errors"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// io_uring_setup flags.
const (
	ioringSetupCQSize       = 1 << 3
	ioringSetupSubmitAll    = 1 << 7
	ioringSetupCoopTaskrun  = 1 << 8
	ioringSetupSingleIssuer = 1 << 12
	ioringSetupDeferTaskrun = 1 << 13
)

// io_uring_params.features bits.
const ioringFeatSingleMmap = 1 << 0

// io_uring_enter flags.
const ioringEnterGetEvents = 1 << 0

// mmap offsets of the rings.
const (
	ioringOffSQRing = 0
	ioringOffCQRing = 0x8000000
	ioringOffSQEs   = 0x10000000
)

// Opcodes (enum io_uring_op).
const (
	ioringOpNop         = 0
	ioringOpTimeout     = 11
	ioringOpAccept      = 13
	ioringOpAsyncCancel = 14
	ioringOpClose       = 19
	ioringOpRead        = 22
	ioringOpSend        = 26
	ioringOpRecv        = 27
)

// SQE flags.
const ioSQEBufferSelect = 1 << 5

// Per-opcode flags in sqe.ioprio and sqe.op_flags.
const (
	ioringAcceptMultishot   = 1 << 0 // ioprio of ACCEPT
	ioringRecvsendPollFirst = 1 << 0 // ioprio of SEND and RECV
	ioringAsyncCancelAll    = 1 << 0 // op_flags of ASYNC_CANCEL
	ioringAsyncCancelFD     = 1 << 1
)

// CQE flags.
const (
	ioringCQEFBuffer    = 1 << 0 // the upper 16 bits are the buffer id
	ioringCQEFMore      = 1 << 1 // a multishot request goes on
	ioringCQEBufferShft = 16
)

// io_uring_register opcodes.
const (
	ioringRegisterPbufRing = 22
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// uringSQE is struct io_uring_sqe (64 bytes). Fields named after the
// union members this engine uses.
type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64 // off, addr2
	addr        uint64
	len         uint32
	opFlags     uint32 // msg_flags, accept_flags, cancel_flags, timeout_flags
	userData    uint64
	bufGroup    uint16 // buf_index, buf_group
	personality uint16
	fileIndex   int32
	addr3       uint64
	_           uint64
}

// uringCQE is struct io_uring_cqe (16 bytes, no CQE32).
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// ring is one io_uring instance: its descriptor and the mapped rings.
// Only the goroutine that created it (locked to its thread) uses it.
type ring struct {
	fd int

	ringMem, sqeMem []byte // the mappings, for munmap

	sqHead, sqTail *uint32
	sqMask         uint32
	sqEntries      uint32
	sqArray        []uint32
	sqes           []uringSQE
	sqLocal        uint32 // our tail, published by submit

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []uringCQE
}

// newRing sets a ring up with entries submission slots (a power of two)
// and cqEntries completion slots.
func newRing(entries, cqEntries uint32, flags uint32) (*ring, error) {
	p := uringParams{flags: flags | ioringSetupCQSize, cqEntries: cqEntries}
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, os.NewSyscallError("io_uring_setup", e)
	}
	r := &ring{fd: int(fd)}
	if p.features&ioringFeatSingleMmap == 0 {
		// Every kernel since 5.4 maps both rings at once; older ones
		// are not worth a second path.
		r.close()
		return nil, os.NewSyscallError("io_uring_setup", unix.ENOSYS)
	}
	sqSize := p.sqOff.array + p.sqEntries*4
	cqSize := p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{}))
	size := max(sqSize, cqSize)
	mem, err := unix.Mmap(r.fd, ioringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, os.NewSyscallError("mmap", err)
	}
	r.ringMem = mem
	sqeMem, err := unix.Mmap(r.fd, ioringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, os.NewSyscallError("mmap", err)
	}
	r.sqeMem = sqeMem
	base := unsafe.Pointer(&mem[0])
	u32 := func(off uint32) *uint32 { return (*uint32)(unsafe.Add(base, off)) }
	r.sqHead, r.sqTail = u32(p.sqOff.head), u32(p.sqOff.tail)
	r.sqMask, r.sqEntries = *u32(p.sqOff.ringMask), *u32(p.sqOff.ringEntries)
	r.sqArray = unsafe.Slice(u32(p.sqOff.array), p.sqEntries)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&sqeMem[0])), p.sqEntries)
	r.cqHead, r.cqTail = u32(p.cqOff.head), u32(p.cqOff.tail)
	r.cqMask = *u32(p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	// The array maps slot i to SQE i once and for all: SQEs are used in
	// ring order.
	for i := range r.sqArray {
		r.sqArray[i] = uint32(i)
	}
	r.sqLocal = atomic.LoadUint32(r.sqTail)
	return r, nil
}

func (r *ring) close() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem) //nolint:errcheck // a mapping we made
		r.sqeMem = nil
	}
	if r.ringMem != nil {
		unix.Munmap(r.ringMem) //nolint:errcheck // a mapping we made
		r.ringMem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// sqe returns the next free submission entry, zeroed, or nil when the
// submission ring is full (the caller submits and asks again).
func (r *ring) sqe() *uringSQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqLocal-head >= r.sqEntries {
		return nil
	}
	s := &r.sqes[r.sqLocal&r.sqMask]
	*s = uringSQE{}
	r.sqLocal++
	return s
}

// publish makes the queued SQEs visible to the kernel.
func (r *ring) publish() { atomic.StoreUint32(r.sqTail, r.sqLocal) }

// enter submits the queued SQEs and, with wait, makes sure completions
// are there: it first submits and collects without waiting, through a
// raw system call that the Go scheduler does not see (it cannot block);
// only when that finds no completion does it wait, through the
// scheduler, so that the thread's P serves others meanwhile. Under load
// a turn is one system call.
func (r *ring) enter(wait bool) error {
	r.publish()
	var flags uintptr
	if wait {
		flags = ioringEnterGetEvents
	}
	for {
		toSubmit := r.unsubmittedKernel()
		_, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 0, flags, 0, 0)
		if e == unix.EINTR {
			continue
		}
		// EAGAIN and EBUSY: the kernel is short of memory or its
		// completion queue overflowed; what was not submitted stays
		// queued, and the completions reaped meanwhile make room.
		if e != 0 && e != unix.EAGAIN && e != unix.EBUSY {
			return os.NewSyscallError("io_uring_enter", e)
		}
		break
	}
	if !wait {
		return nil
	}
	for {
		if head, tail := r.cqReady(); head != tail {
			return nil
		}
		_, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.unsubmittedKernel()), 1, ioringEnterGetEvents, 0, 0)
		switch e {
		case 0, unix.EINTR:
			// A signal (the Go runtime's preemption among them) cut
			// the wait short: look again.
		default:
			return os.NewSyscallError("io_uring_enter", e)
		}
	}
}

// unsubmittedKernel is the number of published SQEs the kernel has not
// consumed yet.
func (r *ring) unsubmittedKernel() uint32 { return r.sqLocal - atomic.LoadUint32(r.sqHead) }

// flush asks the kernel, without waiting, to run the completion work it
// deferred and to move the completions it holds for want of room into
// the completion ring; it returns at once whatever it finds.
func (r *ring) flush() {
	r.publish()
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.unsubmittedKernel()), 0, ioringEnterGetEvents, 0, 0)
		if e != unix.EINTR {
			return
		}
	}
}

// cqReady returns the completion head and tail: the CQEs from head to
// tail are ready to read.
func (r *ring) cqReady() (head, tail uint32) {
	return *r.cqHead, atomic.LoadUint32(r.cqTail)
}

// cqe returns the completion at index i (between head and tail).
func (r *ring) cqe(i uint32) *uringCQE { return &r.cqes[i&r.cqMask] }

// cqAdvance gives the CQEs up to head back to the kernel.
func (r *ring) cqAdvance(head uint32) { atomic.StoreUint32(r.cqHead, head) }

// bufRing is a ring of provided buffers (IORING_REGISTER_PBUF_RING): the
// kernel picks a buffer from it when a receive finds data, so that a
// connection waiting for data holds none. Entries are struct io_uring_buf
// {addr u64, len u32, bid u16, resv u16}; the ring's tail, which we
// advance, overlays the resv field of entry 0.
type bufRing struct {
	mem     []byte // the entries, page-aligned
	bufs    []byte // count buffers of size bytes each
	size    int
	mask    uint16
	tail    uint16
	group   uint16
	entries int
}

// newBufRing maps count buffers of size bytes (count a power of two)
// and registers them with ring r as buffer group group.
func newBufRing(r *ring, count, size int, group uint16) (*bufRing, error) {
	mem, err := unix.Mmap(-1, 0, count*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	// The buffers themselves: pages are only backed once the kernel
	// writes into them.
	bufs, err := unix.Mmap(-1, 0, count*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		unix.Munmap(mem) //nolint:errcheck // ours
		return nil, os.NewSyscallError("mmap", err)
	}
	b := &bufRing{mem: mem, bufs: bufs, size: size, mask: uint16(count - 1), group: group, entries: count}
	reg := struct {
		ringAddr    uint64
		ringEntries uint32
		bgid        uint16
		flags       uint16
		resv        [3]uint64
	}{ringAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), ringEntries: uint32(count), bgid: group}
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), ioringRegisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if e != 0 {
		b.free()
		return nil, os.NewSyscallError("io_uring_register", e)
	}
	for i := 0; i < count; i++ {
		b.add(uint16(i))
	}
	b.commit()
	return b, nil
}

// buf returns buffer id.
func (b *bufRing) buf(id uint16) []byte {
	off := int(id) * b.size
	return b.bufs[off : off+b.size : off+b.size]
}

// add queues buffer id for the kernel; commit publishes it.
func (b *bufRing) add(id uint16) {
	e := unsafe.Add(unsafe.Pointer(&b.mem[0]), int(b.tail&b.mask)*16)
	*(*uint64)(e) = uint64(uintptr(unsafe.Pointer(&b.bufs[int(id)*b.size])))
	*(*uint32)(unsafe.Add(e, 8)) = uint32(b.size)
	*(*uint16)(unsafe.Add(e, 12)) = id
	b.tail++
}

// commit publishes the buffers added since the last commit. The tail is
// the upper half of entry 0's last 32-bit word (little-endian), whose
// lower half is entry 0's buffer id, which only we write: one atomic
// 32-bit store publishes the tail after the entries' bytes.
func (b *bufRing) commit() {
	w := (*uint32)(unsafe.Add(unsafe.Pointer(&b.mem[0]), 12))
	bid0 := *(*uint16)(unsafe.Add(unsafe.Pointer(&b.mem[0]), 12))
	atomic.StoreUint32(w, uint32(b.tail)<<16|uint32(bid0))
}

func (b *bufRing) free() {
	unix.Munmap(b.mem)  //nolint:errcheck // ours
	unix.Munmap(b.bufs) //nolint:errcheck // ours
}

// littleEndian guards bufRing.commit's overlay of the tail.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// errUringUnsupported is why the uring engine cannot run here.
var errUringUnsupported = errors.New("io_uring is not available")
