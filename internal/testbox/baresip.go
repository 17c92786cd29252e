package testbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Baresip is Debian's baresip as a desk phone (registered to the box, answering every call)
// or as a caller, sending a WAV file as its microphone and dumping what it hears.
type Baresip struct {
	Dir  string // its config folder; what it hears lands in dump-*-dec.wav here
	Port int    // its SIP port
	cmd  *exec.Cmd
	done chan struct{}
}

// StartBaresip registers ext with password at box (host:port) and answers calls
// automatically, sending mic (a 8 kHz mono 16-bit WAV) as its audio.
func StartBaresip(t testing.TB, box, ext, password, mic string) *Baresip {
	t.Helper()
	accounts := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;answermode=auto;regint=300\n", ext, box, password)
	return runBaresip(t, mic, accounts, 5*time.Minute)
}

// DialBaresip is baresip calling dial at box from number, unregistered (as a caller on the
// loopback trunk), sending mic as its audio; with quit, it hangs up and exits after that long.
func DialBaresip(t testing.TB, box, number, dial, mic string, quit time.Duration) *Baresip {
	t.Helper()
	args := []string{"-e", "/dial sip:" + dial + "@" + box}
	if quit > 0 {
		args = append(args, "-t", fmt.Sprint(int(quit.Seconds())))
	}
	return runBaresip(t, mic, "<sip:"+number+"@127.0.0.1>;regint=0\n", 2*time.Minute, args...)
}

// runBaresip starts baresip with one account, mic as its microphone and what it hears
// dumped in its folder; it is killed when the test ends, or after timeout.
func runBaresip(t testing.TB, mic, accounts string, timeout time.Duration, args ...string) *Baresip {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Fatal("baresip is not installed: `make test` installs Debian's baresip")
	}
	dir := t.TempDir()
	port := FreePortPair(t) // baresip also binds TLS on port+1
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
audio_player alsa,null
audio_alert alsa,null
audio_source aufile,%s
audio_srate 8000
audio_channels 1
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module alsa.so
module sndfile.so
module_app account.so
module_app menu.so
snd_path %s
`, port, mic, dir)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(accounts), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	b := &Baresip{Dir: dir, Port: port, done: make(chan struct{})}
	b.cmd = exec.CommandContext(ctx, "baresip", append([]string{"-f", dir}, args...)...)
	log, err := os.Create(filepath.Join(dir, "baresip.log"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		b.cmd.Wait()
		log.Close()
		cancel()
		close(b.done)
	}()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.done
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "baresip.log"))
			t.Logf("baresip log:\n%s", out)
		}
	})
	return b
}

// Heard returns the path of the WAV of what baresip received in its (first) call.
func (b *Baresip) Heard(t testing.TB) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.Dir, "dump-*-dec.wav"))
	if len(files) == 0 {
		t.Fatal("baresip dumped no received audio")
	}
	return files[0]
}
