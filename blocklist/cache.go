package blocklist

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// An Index answers checks against a rule file's rules, and nothing else:
// what `nodenet block check` needs. LoadIndex gives one, through a cache
// of the sorted intervals that a rule file's rules come to, kept apart
// from the rule file, so that checking against a large rule file that
// has not changed since the last check reads the intervals back instead
// of parsing every rule and sorting what they block again.
//
// The cache is keyed by the rule file's contents: an entry holds the
// size and two checksums (CRC-32 and CRC-32C) of the contents it was
// built from, and is used only for contents with the same three, so an
// edit, however quick, is never answered from an entry made before it.
// To spare reading a large file whole, an entry also holds the file's
// stamp (device, inode, mtime, ctime) and is used without the checksums
// when the file's stamp is the same and was already old when the entry
// was written, as git trusts its index (see cacheRacyMargin); where the
// system gives no stamp, the checksums decide. Each entry also carries a checksum of itself: a
// cache file cut short, or changed, is not read but rebuilt. A problem
// with the cache (a directory that cannot be made or written, an entry
// that does not read back) never fails a load: the rules are then
// parsed, as without a cache.
type Index struct{ x *index }

// CheckBytes reports whether an address, in a byte slice, is blocked,
// as BlockList.CheckBytes does.
func (ix *Index) CheckBytes(address []byte, family string) (bool, error) {
	ok, err := checkIn(ix.x, address, family)
	runtime.KeepAlive(ix) // its mapping, if any, until the check is done
	return ok, err
}

// CheckAddr reports whether an address is blocked, as BlockList.CheckAddr
// does.
func (ix *Index) CheckAddr(a netip.Addr) bool {
	ok := ix.x.hasAddr(a)
	runtime.KeepAlive(ix)
	return ok
}

// LoadIndex reads the rule file at path, as LoadFile does (the same
// refusals, the same errors for a file that does not parse), for checks
// only. With a cacheDir, it looks for the file's intervals there first,
// and puts them there when it had to parse the file; "" uses no cache.
func LoadIndex(path, cacheDir string) (*Index, error) {
	if cacheDir == "" {
		b, err := LoadFile(path)
		if err != nil {
			return nil, err
		}
		return &Index{b.index()}, nil
	}
	// The entry is used when it was made from the same contents: when
	// the file's stamp says so, or else its checksums.
	f, size, err := openRuleFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	stamp := fileStampOf(f)
	entry := cacheEntryPath(cacheDir, path)
	c := readCacheEntry(entry)
	if c.x != nil && c.trusts(stamp, size) {
		return c.use(), nil
	}
	key, err := sumFile(path, f)
	if err != nil {
		c.drop()
		return nil, err
	}
	if c.x != nil && c.key == key {
		return c.use(), nil
	}
	c.drop()
	// Parsed after all: read whole. What is parsed is what the entry is
	// made for, should the file have changed since it was summed.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, &FileError{Path: path, Err: unwrapPath(err)}
	}
	data, err := readAll(path, f, size)
	if err != nil {
		return nil, err
	}
	key = contentKey(data)
	if fileStampOf(f) != stamp {
		stamp = fileStamp{} // changed while read: the checksums only
	}
	b, err := parseNamed(path, data)
	if err != nil {
		return nil, err
	}
	x := b.index()
	writeCacheEntry(cacheDir, entry, cacheEntry{key: key, stamp: stamp, x: x}) // best effort
	return &Index{x}, nil
}

// castagnoli is CRC-32C's table, made on first use: making it costs
// about 0.15 ms, which every other command would pay at start-up.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// cacheKey names the contents of a rule file.
type cacheKey struct {
	size             uint64
	ieee, castagnoli uint32
}

// contentKey names data.
func contentKey(data []byte) cacheKey {
	return cacheKey{size: uint64(len(data)), ieee: crc32.ChecksumIEEE(data), castagnoli: crc32.Checksum(data, castagnoli())}
}

// sumFile reads f, a rule file, from its start to its end through a
// small buffer (a page fault costs more than the copy), and returns the
// key of its contents: readAll's limit and errors.
func sumFile(path string, f *os.File) (cacheKey, error) {
	var k cacheKey
	buf := make([]byte, 256<<10)
	for {
		n, err := f.Read(buf)
		k.size += uint64(n)
		k.ieee = crc32.Update(k.ieee, crc32.IEEETable, buf[:n])
		k.castagnoli = crc32.Update(k.castagnoli, castagnoli(), buf[:n])
		if k.size > uint64(maxFileSize) {
			return k, &FileError{Path: path, Err: tooLarge("the file has more than", maxFileSize)}
		}
		if err == io.EOF {
			return k, nil
		}
		if err != nil {
			return k, &FileError{Path: path, Err: unwrapPath(err)}
		}
	}
}

// cacheMagic starts every cache entry; a change of layout changes it.
var cacheMagic = [8]byte{'n', 'n', 'b', 'l', 'i', 'd', 'x', '3'}

// An entry is, little-endian: the magic, the key (size, CRC-32,
// CRC-32C), the rule file's stamp (device, inode, mtime, ctime), the
// counts of IPv4 and IPv6 intervals, each family's directory (its least
// key, shift and number of entries: 0 for none), the IPv4 intervals
// (start<<32 | end, 8 bytes each), the IPv6 intervals (start and end, 32
// bytes each), the IPv4 and IPv6 directories' entries (4 bytes each),
// and the CRC-32C of everything before it. The directories are kept
// rather than counted again: read back, they are checked against the
// intervals, which reads them in order, where counting would write
// memory of its own a page at a time.
const cacheHeaderSize = 8 + 8 + 4 + 4 + 32 + 8 + 8 + 2*24

// fileStamp is what the system says of a file that changes whenever its
// contents do: device and inode, and the times of the last change to its
// contents (mtime) and to the file at all (ctime, which no program can
// set). The zero stamp says nothing.
type fileStamp struct {
	dev, ino     uint64
	mtime, ctime int64 // Unix ns
}

// cacheRacyMargin: a stamp is believed only when the file's ctime is
// older than the entry by this much. A change made just before, or
// while, the entry was written could otherwise keep the stamp the entry
// recorded: the kernel stamps times from a clock that moves in ticks of
// a few milliseconds. (A variable for the tests.)
var cacheRacyMargin = 2 * time.Second

// cacheEntry is an entry as read back: what it was made from and its
// index (nil when there is no entry, or it does not read back whole).
type cacheEntry struct {
	key     cacheKey
	stamp   fileStamp
	written time.Time // the entry file's own mtime
	x       *index
	mapped  []byte // the entry file's mapping that x lies in, if any
}

// use returns the entry's index as an Index. A mapping it lies in is
// released when the Index is no longer reachable.
func (e *cacheEntry) use() *Index {
	ix := &Index{e.x}
	if e.mapped != nil {
		runtime.AddCleanup(ix, unmapEntry, e.mapped)
	}
	return ix
}

// drop releases an entry that is not used.
func (e *cacheEntry) drop() {
	if e.mapped != nil {
		unmapEntry(e.mapped)
	}
	*e = cacheEntry{}
}

// trusts tells whether the entry is for the file whose stamp and size
// are given, by the stamp alone: the same stamp, recorded well before
// the entry was written (no change since can have left it as it was).
func (e *cacheEntry) trusts(stamp fileStamp, size int64) bool {
	return stamp != (fileStamp{}) && e.stamp == stamp && e.key.size == uint64(size) &&
		e.stamp.ctime < e.written.UnixNano()-int64(cacheRacyMargin)
}

// cacheEntryPath is where the entry for the rule file at path lives: one
// entry per rule file (by its absolute name), replaced when the file
// changes.
func cacheEntryPath(dir, path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".idx")
}

// readCacheEntry reads an entry back.
func readCacheEntry(name string) (e cacheEntry) {
	f, err := os.Open(name)
	if err != nil {
		return e
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < cacheHeaderSize+4 || fi.Size() > 64*maxFileSize {
		return e
	}
	e.written = fi.ModTime()
	b, mapped, err := readEntryFile(f, int(fi.Size()))
	if err != nil {
		return e
	}
	if mapped {
		defer func() {
			if e.x == nil {
				unmapEntry(b)
			} else {
				e.mapped = b
			}
		}()
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	h := b[:cacheHeaderSize]
	if [8]byte(h[:8]) != cacheMagic {
		return e
	}
	e.key = cacheKey{size: binary.LittleEndian.Uint64(h[8:]), ieee: binary.LittleEndian.Uint32(h[16:]), castagnoli: binary.LittleEndian.Uint32(h[20:])}
	e.stamp = fileStamp{
		dev: binary.LittleEndian.Uint64(h[24:]), ino: binary.LittleEndian.Uint64(h[32:]),
		mtime: int64(binary.LittleEndian.Uint64(h[40:])), ctime: int64(binary.LittleEndian.Uint64(h[48:])),
	}
	n4, n6 := binary.LittleEndian.Uint64(h[56:]), binary.LittleEndian.Uint64(h[64:])
	d4, l4 := dirHeader(h[72:])
	d6, l6 := dirHeader(h[96:])
	limit := uint64(len(body))
	if n4 > limit || n6 > limit || l4 > limit || l6 > limit || cacheHeaderSize+8*n4+32*n6+4*l4+4*l6 != limit {
		return e
	}
	if crc32.Checksum(body, castagnoli()) != sum {
		return e
	}
	v4, v6, f4, f6 := cacheIntervals(body[cacheHeaderSize:], int(n4), int(n6), int(l4), int(l6))
	d4.first, d6.first = f4, f6
	e.x = checkedIndex(v4, v6, d4, d6)
	return e
}

// readEntryCopy reads the n bytes of f, a cache entry, into memory.
func readEntryCopy(f *os.File, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(f, b)
	return b, err
}

// cacheIntervals returns the n4 IPv4 and n6 IPv6 intervals, and the l4
// and l6 entries of their directories, that p holds, little-endian. On a
// little-endian machine, with p aligned (a large allocation is, and a
// mapping), they are p itself, seen as intervals: decoding them into
// memory of their own would cost a page fault every 4 KiB.
func cacheIntervals(p []byte, n4, n6, l4, l6 int) ([]uint64, []span6, []uint32, []uint32) {
	if len(p) > 0 && nativeLittle && uintptr(unsafe.Pointer(&p[0]))%8 == 0 {
		var v4 []uint64
		var v6 []span6
		var f4, f6 []uint32
		if n4 > 0 {
			v4 = unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), n4)
		}
		p = p[8*n4:]
		if n6 > 0 {
			v6 = unsafe.Slice((*span6)(unsafe.Pointer(&p[0])), n6)
		}
		p = p[32*n6:]
		if l4 > 0 {
			f4 = unsafe.Slice((*uint32)(unsafe.Pointer(&p[0])), l4)
		}
		p = p[4*l4:]
		if l6 > 0 {
			f6 = unsafe.Slice((*uint32)(unsafe.Pointer(&p[0])), l6)
		}
		return v4, v6, f4, f6
	}
	v4 := make([]uint64, n4)
	for i := range v4 {
		v4[i] = binary.LittleEndian.Uint64(p[8*i:])
	}
	p = p[8*n4:]
	v6 := make([]span6, n6)
	for i := range v6 {
		q := p[32*i:]
		v6[i] = span6{
			start: u128{binary.LittleEndian.Uint64(q), binary.LittleEndian.Uint64(q[8:])},
			end:   u128{binary.LittleEndian.Uint64(q[16:]), binary.LittleEndian.Uint64(q[24:])},
		}
	}
	p = p[32*n6:]
	entries := func(l int) []uint32 {
		if l == 0 {
			return nil
		}
		f := make([]uint32, l)
		for i := range f {
			f[i] = binary.LittleEndian.Uint32(p[4*i:])
		}
		p = p[4*l:]
		return f
	}
	f4 := entries(l4)
	return v4, v6, f4, entries(l6)
}

// nativeLittle tells whether this machine stores integers little-endian,
// as cache entries do.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// checkedIndex makes the index of an entry's intervals and directories,
// checking what an index's must be: each interval's start at most its
// end, each after the one before with a gap between, and each
// directory's entries what its definition says for those intervals (see
// dirHolds). It returns nil when they are not. One pass over each
// family's intervals and directory, in order, without a branch on the
// data: it runs on every check of a cached rule file.
func checkedIndex(v4 []uint64, v6 []span6, d4, d6 dir) *index {
	var bad uint64
	need := uint64(0) // the least start the next interval may have
	for _, v := range v4 {
		start, end := v>>32, v&0xffffffff
		_, b1 := bits.Sub64(end, start, 0)
		_, b2 := bits.Sub64(start, need, 0)
		bad |= b1 | b2
		need = end + 2
	}
	var need6 u128  // the least start the next interval may have
	var over uint64 // 1 when that is past the last address
	for i := range v6 {
		v := &v6[i]
		_, b := bits.Sub64(v.end.lo, v.start.lo, 0)
		_, b1 := bits.Sub64(v.end.hi, v.start.hi, b)
		_, b = bits.Sub64(v.start.lo, need6.lo, 0)
		_, b2 := bits.Sub64(v.start.hi, need6.hi, b)
		bad |= b1 | b2 | over
		var carry uint64
		need6.lo, carry = bits.Add64(v.end.lo, 2, 0)
		need6.hi, over = bits.Add64(v.end.hi, 0, carry)
	}
	if bad != 0 || !dirHolds(d4, len(v4), func(i int) uint64 { return v4[i] >> 32 }) ||
		!dirHolds(d6, len(v6), func(i int) uint64 { return v6[i].start.hi }) {
		return nil
	}
	return &index{v4: v4, v6: v6, v4Dir: d4, v6Dir: d6}
}

// dirHolds tells whether d is a directory of the n sorted keys that key
// gives (key(0), key(1), ...): none, or entries that never decrease, the
// last n, every key in a slice before the last entry (at or after d.min),
// and each key i in a slice s with first[s] <= i < first[s+1]. Those make
// first[k] the number of keys in slices before k, for every k, which is
// what bounds relies on. It reads the keys and the entries in order.
func dirHolds(d dir, n int, key func(int) uint64) bool {
	f := d.first
	if f == nil {
		return true
	}
	if len(f) < 2 || f[len(f)-1] != uint32(n) || d.shift > 63 {
		return false
	}
	var bad uint64
	for k := 1; k < len(f); k++ {
		_, b := bits.Sub32(f[k], f[k-1], 0)
		bad |= uint64(b)
	}
	last := uint64(len(f) - 2) // the last slice a key may be in
	for i := range n {
		k := key(i)
		_, below := bits.Sub64(k, d.min, 0)
		s := (k - d.min) >> d.shift
		_, past := bits.Sub64(last, s, 0)
		s = min(s, last)
		_, b1 := bits.Sub64(uint64(i), uint64(f[s]), 0)   // i < first[s]
		_, b2 := bits.Sub64(uint64(i), uint64(f[s+1]), 0) // i < first[s+1]
		bad |= below | past | b1 | (b2 ^ 1)
	}
	return bad == 0
}

// putDirHeader writes what an entry's header says of a directory.
func putDirHeader(b []byte, d dir) {
	binary.LittleEndian.PutUint64(b, d.min)
	binary.LittleEndian.PutUint64(b[8:], uint64(d.shift))
	binary.LittleEndian.PutUint64(b[16:], uint64(len(d.first)))
}

// dirHeader reads what putDirHeader wrote: the directory without its
// entries, and how many entries it has.
func dirHeader(b []byte) (dir, uint64) {
	d := dir{min: binary.LittleEndian.Uint64(b), shift: uint(binary.LittleEndian.Uint64(b[8:]))}
	return d, binary.LittleEndian.Uint64(b[16:])
}

// writeCacheEntry puts x in the cache for contents named key, replacing
// the entry's file whole (a reader sees the old entry or the new one),
// readable by its owner only. Failures are ignored: the next load parses
// the rule file again.
func writeCacheEntry(dir, name string, e cacheEntry) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	x := e.x
	b := make([]byte, cacheHeaderSize, cacheHeaderSize+8*len(x.v4)+32*len(x.v6)+4*len(x.v4Dir.first)+4*len(x.v6Dir.first)+4)
	copy(b, cacheMagic[:])
	binary.LittleEndian.PutUint64(b[8:], e.key.size)
	binary.LittleEndian.PutUint32(b[16:], e.key.ieee)
	binary.LittleEndian.PutUint32(b[20:], e.key.castagnoli)
	binary.LittleEndian.PutUint64(b[24:], e.stamp.dev)
	binary.LittleEndian.PutUint64(b[32:], e.stamp.ino)
	binary.LittleEndian.PutUint64(b[40:], uint64(e.stamp.mtime))
	binary.LittleEndian.PutUint64(b[48:], uint64(e.stamp.ctime))
	binary.LittleEndian.PutUint64(b[56:], uint64(len(x.v4)))
	binary.LittleEndian.PutUint64(b[64:], uint64(len(x.v6)))
	putDirHeader(b[72:], x.v4Dir)
	putDirHeader(b[96:], x.v6Dir)
	for _, v := range x.v4 {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	for _, v := range x.v6 {
		b = binary.LittleEndian.AppendUint64(b, v.start.hi)
		b = binary.LittleEndian.AppendUint64(b, v.start.lo)
		b = binary.LittleEndian.AppendUint64(b, v.end.hi)
		b = binary.LittleEndian.AppendUint64(b, v.end.lo)
	}
	for _, f := range x.v4Dir.first {
		b = binary.LittleEndian.AppendUint32(b, f)
	}
	for _, f := range x.v6Dir.first {
		b = binary.LittleEndian.AppendUint32(b, f)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli()))
	tmp, err := os.CreateTemp(dir, filepath.Base(name)+".tmp*")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
