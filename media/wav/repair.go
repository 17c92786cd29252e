package wav

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// Repair makes a WAV file whose header sizes disagree with its length — a recording cut short
// by a crash or a power cut — consistent again: the data size becomes what the file really
// holds, less a partial trailing sample frame (which is cut off), and the RIFF size follows.
// It reports whether it changed the file. A file that is consistent is left untouched; a file
// that is not a WAV file at all is an error (wrapping ErrNotWAV).
func Repair(path string) (fixed bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("wav: repair: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("wav: repair %s: %w", path, cerr)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("wav: repair: %w", err)
	}
	size := st.Size()
	l, err := parse(bufio.NewReader(f), nil)
	if err != nil {
		return false, fmt.Errorf("wav: repair %s: %w", path, err)
	}
	var riff [4]byte
	if _, err := f.ReadAt(riff[:], riffSizeOff); err != nil {
		return false, fmt.Errorf("wav: repair %s: %w", path, err)
	}
	declaredRIFF := int64(binary.LittleEndian.Uint32(riff[:]))
	declared := int64(l.dataSize)
	avail := size - l.dataOffset
	align := int64(l.header.BlockAlign())

	dataLen := declared
	switch {
	case declared == avail, declared%2 == 1 && declared+1 == avail:
		// The data chunk ends the file, as declared (with its pad byte when odd).
	case declared < avail && chunksFollow(f, l.dataOffset+declared+declared%2, size):
		// Other chunks (LIST, say) follow the audio: the data size is right.
	default:
		dataLen = avail - avail%align
	}
	if dataLen != declared {
		end := l.dataOffset + dataLen
		if end < size {
			if err := f.Truncate(end); err != nil {
				return false, fmt.Errorf("wav: repair %s: %w", path, err)
			}
		}
		size = end
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(dataLen))
		if _, err := f.WriteAt(b[:], l.dataOffset-4); err != nil {
			return false, fmt.Errorf("wav: repair %s: %w", path, err)
		}
		fixed = true
	}
	if declaredRIFF != size-8 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(size-8))
		if _, err := f.WriteAt(b[:], riffSizeOff); err != nil {
			return false, fmt.Errorf("wav: repair %s: %w", path, err)
		}
		fixed = true
	}
	if fixed {
		if err := f.Sync(); err != nil {
			return false, fmt.Errorf("wav: repair %s: %w", path, err)
		}
	}
	return fixed, nil
}

// chunksFollow reports whether the bytes of f from off to size are a sequence of well-formed
// RIFF chunks.
func chunksFollow(f io.ReaderAt, off, size int64) bool {
	for off < size {
		var ch [8]byte
		if _, err := f.ReadAt(ch[:], off); err != nil {
			return false
		}
		for _, c := range ch[:4] {
			if c < 0x20 || c > 0x7e {
				return false
			}
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		off += 8 + n + n%2
	}
	return off == size
}
