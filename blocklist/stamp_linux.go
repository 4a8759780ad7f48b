package blocklist

import (
	"os"
	"syscall"
)

// fileStampOf returns f's stamp, or the zero stamp when fstat fails.
func fileStampOf(f *os.File) fileStamp {
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}
	}
	return fileStamp{
		dev: uint64(st.Dev), ino: st.Ino,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}
}
