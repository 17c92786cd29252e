package prompt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"callbox"
)

// Library holds the box's recorded prompts, one folder per language: <Dir>/<lang>/<name>.wav,
// e.g. en/welcome.wav, zh/welcome.wav. A prompt missing in the caller's language is played in
// the library's default language. Prompts are decoded once and kept in memory (they are short
// and played by many calls); a file changed on disk is read again.
type Library struct {
	dir      string
	fallback string
	log      *slog.Logger

	mu    sync.Mutex
	clips map[string]cached
}

type cached struct {
	clip    *Clip
	modTime time.Time
	size    int64
}

// NewLibrary returns the library in dir, falling back to language fallback ("en", say).
func NewLibrary(dir, fallback string, log *slog.Logger) *Library {
	if log == nil {
		log = slog.Default()
	}
	return &Library{dir: dir, fallback: fallback, log: log, clips: map[string]cached{}}
}

// Languages lists the languages to try for lang, best first: "zh-CN" gives zh-cn, zh, then the
// fallback.
func (l *Library) Languages(lang string) []string {
	var out []string
	addLang := func(s string) {
		s = strings.ToLower(s)
		if s != "" && !strings.ContainsAny(s, `/\.`) && !contains(out, s) {
			out = append(out, s)
		}
	}
	addLang(lang)
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		addLang(lang[:i])
	}
	addLang(l.fallback)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Clip returns the prompt called name in lang, or in the fallback language. A prompt found
// nowhere is an ENOTFOUND error naming the files tried.
func (l *Library) Clip(lang, name string) (*Clip, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var tried []string
	for _, lg := range l.Languages(lang) {
		path := filepath.Join(l.dir, lg, name+".wav")
		clip, err := l.load(path)
		if errors.Is(err, fs.ErrNotExist) {
			tried = append(tried, path)
			continue
		}
		if err != nil {
			return nil, err
		}
		if lg != strings.ToLower(lang) {
			l.log.Debug("prompt played in another language", "prompt", name, "want", lang, "got", lg)
		}
		return clip, nil
	}
	return nil, callbox.Errorf(callbox.ENOTFOUND, "no prompt %q (looked for %s)", name, strings.Join(tried, ", "))
}

// Open returns a source playing the prompt called name in lang (see Clip).
func (l *Library) Open(lang, name string) (Source, error) {
	c, err := l.Clip(lang, name)
	if err != nil {
		return nil, err
	}
	return c.Source(), nil
}

// Missing returns the prompts of names that cannot be played in lang even with the fallback,
// for a configuration check.
func (l *Library) Missing(lang string, names ...string) []string {
	var out []string
	for _, n := range names {
		if _, err := l.Clip(lang, n); err != nil {
			out = append(out, n)
		}
	}
	return out
}

// load returns the clip of path, decoding it when it is new or changed.
func (l *Library) load(path string) (*Clip, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	c, ok := l.clips[path]
	l.mu.Unlock()
	if ok && c.modTime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.clip, nil
	}
	clip, err := LoadWAV(path)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.clips[path] = cached{clip: clip, modTime: st.ModTime(), size: st.Size()}
	l.mu.Unlock()
	return clip, nil
}

// checkName refuses prompt names that would leave the library's folder.
func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return callbox.Errorf(callbox.EINVALID, "prompt name %q: want a plain file name without extension", name)
	}
	return nil
}

// Music plays music on hold from the WAV files of a folder, one after the other, in name
// order or shuffled, looping for ever. The folder is read again at each round, so files added
// or removed take effect without a restart. Each caller on hold gets its own Source.
type Music struct {
	dir     string
	shuffle bool
	log     *slog.Logger
	// perm shuffles n items; the default uses math/rand/v2.
	perm func(n int) []int
}

// NewMusic returns the music of dir. perm may be nil (tests pass a seeded one).
func NewMusic(dir string, shuffle bool, perm func(n int) []int, log *slog.Logger) *Music {
	if log == nil {
		log = slog.Default()
	}
	if perm == nil {
		perm = defaultPerm
	}
	return &Music{dir: dir, shuffle: shuffle, perm: perm, log: log}
}

// Files lists the music files, in name order.
func (m *Music) Files() ([]string, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("prompt: music on hold: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".wav") {
			out = append(out, filepath.Join(m.dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, callbox.Errorf(callbox.ENOTFOUND, "no WAV files for music on hold in %s", m.dir)
	}
	return out, nil
}

// Source returns a new, endless stream of the music.
func (m *Music) Source() (Source, error) {
	if _, err := m.Files(); err != nil {
		return nil, err
	}
	return &musicSource{m: m}, nil
}

type musicSource struct {
	m     *Music
	round []string
	next  int
	cur   Source
	fresh bool // cur has not played a frame yet
	bad   int  // files in a row that would not play
}

func (s *musicSource) ReadFrame(frame []int16) (int, error) {
	n := 0 // files play back to back: a file's short last frame is topped up from the next
	for n < len(frame) {
		if s.cur == nil {
			if err := s.open(); err != nil {
				return 0, err
			}
		}
		m, err := s.cur.ReadFrame(frame[n:])
		if err == nil && m > 0 {
			s.bad, s.fresh = 0, false
			n += m
			if n < len(frame) { // that was the file's last frame
				s.cur.Close()
				s.cur = nil
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			s.m.log.Warn("music on hold file failed", "err", err)
		}
		if s.fresh {
			s.bad++ // not a single frame: count it with the files that do not open
		}
		s.cur.Close()
		s.cur = nil
	}
	return n, nil
}

// open opens the next file, starting a new round when the last one is done.
func (s *musicSource) open() error {
	for {
		if s.next >= len(s.round) {
			files, err := s.m.Files()
			if err != nil {
				return err
			}
			if s.bad >= len(files) { // a whole round without a frame
				return fmt.Errorf("prompt: none of the %d music on hold files in %s plays", len(files), s.m.dir)
			}
			s.round, s.next = files, 0
			if s.m.shuffle {
				shuffled := make([]string, len(files))
				for i, j := range s.m.perm(len(files)) {
					shuffled[i] = files[j]
				}
				s.round = shuffled
			}
		}
		path := s.round[s.next]
		s.next++
		src, err := FromWAV(path)
		if err != nil {
			s.bad++
			s.m.log.Warn("music on hold file skipped", "err", err)
			continue
		}
		s.cur, s.fresh = src, true
		return nil
	}
}

func (s *musicSource) Close() error {
	if s.cur != nil {
		return s.cur.Close()
	}
	return nil
}

func defaultPerm(n int) []int { return rand.Perm(n) }
