package record

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"callbox/media/wav"
)

// RepairAll walks the recordings tree under dir and repairs the WAV files a crash left
// half-written (see wav.Repair). It returns the paths it fixed, and the files it could not
// read or fix joined in the error; it goes on past them. Run it at start-up, before any
// recording begins. A missing dir is not an error.
func RepairAll(dir string) ([]string, error) {
	var fixed []string
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return filepath.SkipAll
			}
			errs = append(errs, err)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.EqualFold(filepath.Ext(path), ".wav") {
			return nil
		}
		ok, err := wav.Repair(path)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			fixed = append(fixed, path)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("record: walk %s: %w", dir, err))
	}
	return fixed, errors.Join(errs...)
}
