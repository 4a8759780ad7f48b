package blocklist

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"unsafe"
)

// An Index answers checks against a rule file's rules, and nothing else:
// what `nodenet block check` needs. LoadIndex gives one, through a cache
// of the sorted intervals that a rule file's rules come to, kept apart
// from the rule file, so that checking against a large rule file that
// has not changed since the last check reads the intervals back instead
// of parsing every rule and sorting what they block again.
//
// The cache is keyed by the rule file's contents, not its name or its
// times: an entry holds the size and two checksums (CRC-32 and CRC-32C)
// of the contents it was built from, and is used only for contents with
// the same three, so an edit, however quick, is never answered from an
// entry made before it. Each entry also carries a checksum of itself: a
// cache file cut short, or changed, is not read but rebuilt. A problem
// with the cache (a directory that cannot be made or written, an entry
// that does not read back) never fails a load: the rules are then
// parsed, as without a cache.
type Index struct{ x *index }

// CheckBytes reports whether an address, in a byte slice, is blocked,
// as BlockList.CheckBytes does.
func (ix *Index) CheckBytes(address []byte, family string) (bool, error) {
	return checkIn(ix.x, address, family)
}

// CheckAddr reports whether an address is blocked, as BlockList.CheckAddr
// does.
func (ix *Index) CheckAddr(a netip.Addr) bool { return ix.x.hasAddr(a) }

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
	// The entry is read while the rule file is read and summed: it is
	// used when it was made from the same contents.
	entry := cacheEntryPath(cacheDir, path)
	type found struct {
		key cacheKey
		x   *index
	}
	cached := make(chan found, 1)
	go func() {
		key, x := readCacheEntry(entry)
		cached <- found{key, x}
	}()
	f, size, err := openRuleFile(path)
	if err != nil {
		<-cached
		return nil, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	key, err := sumFile(path, f)
	c := <-cached
	if err != nil {
		return nil, err
	}
	if c.x != nil && c.key == key {
		return &Index{c.x}, nil
	}
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
	b, err := parseNamed(path, data)
	if err != nil {
		return nil, err
	}
	x := b.index()
	writeCacheEntry(cacheDir, entry, key, x) // best effort
	return &Index{x}, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheKey names the contents of a rule file.
type cacheKey struct {
	size             uint64
	ieee, castagnoli uint32
}

// contentKey names data.
func contentKey(data []byte) cacheKey {
	return cacheKey{size: uint64(len(data)), ieee: crc32.ChecksumIEEE(data), castagnoli: crc32.Checksum(data, castagnoli)}
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
		k.castagnoli = crc32.Update(k.castagnoli, castagnoli, buf[:n])
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
var cacheMagic = [8]byte{'n', 'n', 'b', 'l', 'i', 'd', 'x', '1'}

// An entry is, little-endian: the magic, the key (size, CRC-32,
// CRC-32C), the counts of IPv4 and IPv6 intervals, the IPv4 intervals
// (start<<32 | end, 8 bytes each), the IPv6 intervals (start and end, 32
// bytes each), and the CRC-32C of everything before it.
const cacheHeaderSize = 8 + 8 + 4 + 4 + 8 + 8

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

// readCacheEntry returns the index an entry holds and the key of the
// contents it was made from; a nil index when there is no entry, or it
// does not read back whole.
func readCacheEntry(name string) (key cacheKey, x *index) {
	f, err := os.Open(name)
	if err != nil {
		return key, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < cacheHeaderSize+4 || fi.Size() > 64*maxFileSize {
		return key, nil
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return key, nil
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	h := b[:cacheHeaderSize]
	if [8]byte(h[:8]) != cacheMagic {
		return key, nil
	}
	key = cacheKey{size: binary.LittleEndian.Uint64(h[8:]), ieee: binary.LittleEndian.Uint32(h[16:]), castagnoli: binary.LittleEndian.Uint32(h[20:])}
	n4, n6 := binary.LittleEndian.Uint64(h[24:]), binary.LittleEndian.Uint64(h[32:])
	if n4 > uint64(len(body)) || n6 > uint64(len(body)) || cacheHeaderSize+8*n4+32*n6 != uint64(len(body)) {
		return key, nil
	}
	if crc32.Checksum(body, castagnoli) != sum {
		return key, nil
	}
	v4, v6 := cacheIntervals(body[cacheHeaderSize:], int(n4), int(n6))
	if !sortedDisjoint(v4, v6) {
		return key, nil
	}
	return key, indexOf(v4, v6)
}

// cacheIntervals returns the n4 IPv4 and n6 IPv6 intervals that p
// holds, little-endian. On a little-endian machine, with p aligned (a
// large allocation is), they are p itself, seen as intervals: decoding
// them into memory of their own would cost a page fault every 4 KiB.
func cacheIntervals(p []byte, n4, n6 int) ([]uint64, []span6) {
	if len(p) > 0 && nativeLittle && uintptr(unsafe.Pointer(&p[0]))%8 == 0 {
		var v4 []uint64
		var v6 []span6
		if n4 > 0 {
			v4 = unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), n4)
		}
		if n6 > 0 {
			v6 = unsafe.Slice((*span6)(unsafe.Pointer(&p[8*n4])), n6)
		}
		return v4, v6
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
	return v4, v6
}

// nativeLittle tells whether this machine stores integers little-endian,
// as cache entries do.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// sortedDisjoint checks what an index's intervals must be: each one's
// start at most its end, and each one after the one before, with a gap.
func sortedDisjoint(v4 []uint64, v6 []span6) bool {
	for i, v := range v4 {
		if uint32(v>>32) > uint32(v) || i > 0 && uint64(uint32(v4[i-1]))+1 >= v>>32 {
			return false
		}
	}
	for i, v := range v6 {
		if v.start.cmp(v.end) > 0 {
			return false
		}
		if i > 0 {
			after, ok := v6[i-1].end.next()
			if !ok || v.start.cmp(after) <= 0 {
				return false
			}
		}
	}
	return true
}

// indexOf makes the index of sorted, disjoint intervals, with their
// directories.
func indexOf(v4 []uint64, v6 []span6) *index {
	x := &index{v4: v4, v6: v6}
	if n := len(v4); n > 0 {
		x.v4Dir = newDir(n, v4[0]>>32, v4[n-1]>>32)
		x.v4Dir.fill(n, func(i int) uint64 { return v4[i] >> 32 })
	}
	if n := len(v6); n > 0 {
		x.v6Dir = newDir(n, v6[0].start.hi, v6[n-1].start.hi)
		x.v6Dir.fill(n, func(i int) uint64 { return v6[i].start.hi })
	}
	return x
}

// writeCacheEntry puts x in the cache for contents named key, replacing
// the entry's file whole (a reader sees the old entry or the new one),
// readable by its owner only. Failures are ignored: the next load parses
// the rule file again.
func writeCacheEntry(dir, name string, key cacheKey, x *index) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	b := make([]byte, cacheHeaderSize, cacheHeaderSize+8*len(x.v4)+32*len(x.v6)+4)
	copy(b, cacheMagic[:])
	binary.LittleEndian.PutUint64(b[8:], key.size)
	binary.LittleEndian.PutUint32(b[16:], key.ieee)
	binary.LittleEndian.PutUint32(b[20:], key.castagnoli)
	binary.LittleEndian.PutUint64(b[24:], uint64(len(x.v4)))
	binary.LittleEndian.PutUint64(b[32:], uint64(len(x.v6)))
	for _, v := range x.v4 {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	for _, v := range x.v6 {
		b = binary.LittleEndian.AppendUint64(b, v.start.hi)
		b = binary.LittleEndian.AppendUint64(b, v.start.lo)
		b = binary.LittleEndian.AppendUint64(b, v.end.hi)
		b = binary.LittleEndian.AppendUint64(b, v.end.lo)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
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
