package repository

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// adderConfig is the adder's config with another version policy.
func adderConfig(policy string) string {
	return `max_batch_size: 8
dynamic_batching:
  max_queue_delay: 1ms
  preferred_batch_sizes: [4]
version_policy:
  ` + policy + "\n"
}

func TestVersionPolicies(t *testing.T) {
	tests := []struct {
		policy string
		ready  []string
		latest float32
	}{
		{"latest: 1", []string{"3"}, 13},
		{"latest: 2", []string{"2", "3"}, 13},
		{"all: true", []string{"1", "2", "3"}, 13},
		{`specific: ["1", "2"]`, []string{"1", "2"}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			dir := testmodels.Repo(t, "adder")
			testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig(tt.policy))
			r := open(t, dir)
			got, err := r.ReadyVersions("adder")
			if err != nil || strings.Join(got, ",") != strings.Join(tt.ready, ",") {
				t.Fatalf("ready versions %v (%v), want %v", got, err, tt.ready)
			}
			for _, v := range tt.ready {
				_, sum, err := addSum(t, r, v)
				want := float32(11) + float32(v[0]-'1')
				if err != nil || sum != want {
					t.Errorf("version %s: sum %v (%v), want %v", v, sum, err, want)
				}
			}
			if v, sum, err := addSum(t, r, ""); err != nil || sum != tt.latest {
				t.Errorf("latest: version %s sum %v (%v), want %v", v, sum, err, tt.latest)
			}
			if !r.Ready() {
				t.Errorf("not ready: %+v", r.Index())
			}
		})
	}
}

func TestSpecificVersionMissing(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig(`specific: ["2", "7"]`))
	r := open(t, dir)
	if r.Ready() {
		t.Error("ready although version 7 has no folder")
	}
	if st := states(r, "adder"); st["2"] != StateReady || st["7"] != StateUnavailable {
		t.Errorf("states %v", st)
	}
}

func TestChecksumMismatch(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	path := filepath.Join(dir, "adder", "2", "model.onnx")
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := open(t, dir)
	st := states(r, "adder")
	if st["1"] != StateReady || st["2"] != StateFailed || st["3"] != StateReady {
		t.Fatalf("states %v", st)
	}
	if reason := reasonOf(r, "adder", "2"); !strings.Contains(reason, "checksum mismatch") {
		t.Errorf("reason %q", reason)
	}
	if _, _, err := addSum(t, r, "2"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("inference on the refused version: %v", err)
	}
	if r.Ready() {
		t.Error("ready with a failed version")
	}
	if _, err := r.Load(context.Background(), "adder", "2"); !errors.Is(err, ErrLoadFailed) {
		t.Errorf("explicit load of the refused version: %v", err)
	}
}

func TestEncryptedModel(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	dir := encryptedAdderRepo(t, key)
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"),
		adderConfig("latest: 1")+"encryption:\n  key_env: TEST_ADDER_KEY\n")

	t.Setenv("TEST_ADDER_KEY", hex.EncodeToString(key))
	r := open(t, dir)
	if _, sum, err := addSum(t, r, "1"); err != nil || sum != 11 {
		t.Fatalf("encrypted model: sum %v, %v", sum, err)
	}

	// A wrong key refuses the version with a reason that says so.
	t.Setenv("TEST_ADDER_KEY", hex.EncodeToString([]byte("fedcba9876543210fedcba9876543210")))
	r2 := open(t, dir)
	if st := states(r2, "adder"); st["1"] != StateFailed || !strings.Contains(reasonOf(r2, "adder", "1"), "wrong key") {
		t.Errorf("wrong key: %v %q", st, reasonOf(r2, "adder", "1"))
	}
}

// TestEncryptedModelKeyFile loads an encrypted version through the
// repository with encryption.key_file: a base64 key relative to the model
// folder, then a 64-hex-character key at an absolute path; 32 raw bytes are
// refused with a reason that names the encodings.
func TestEncryptedModelKeyFile(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	dir := encryptedAdderRepo(t, key)
	if err := os.MkdirAll(filepath.Join(dir, "adder", "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	testmodels.Write(t, filepath.Join(dir, "adder", "keys", "model.key"), key)
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"),
		adderConfig("latest: 1")+"encryption:\n  key_file: keys/model.key\n")
	r0 := open(t, dir)
	if st := states(r0, "adder"); st["1"] != StateFailed || !strings.Contains(reasonOf(r0, "adder", "1"), "64 hex digits or the standard base64") {
		t.Errorf("raw key file: %v %q", st, reasonOf(r0, "adder", "1"))
	}

	testmodels.WriteFile(t, filepath.Join(dir, "adder", "keys", "model.key"), base64.StdEncoding.EncodeToString(key)+"\n")
	r := open(t, dir)
	if _, sum, err := addSum(t, r, "1"); err != nil || sum != 11 {
		t.Fatalf("encrypted model, relative base64 key file: sum %v, %v (%+v)", sum, err, r.Index())
	}

	// A key file outside the model's folder is read only from a
	// --key-dirs folder.
	keys := t.TempDir()
	hexKey := filepath.Join(keys, "model.hex")
	testmodels.WriteFile(t, hexKey, hex.EncodeToString(key)+"\n")
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"),
		adderConfig("latest: 1")+"encryption:\n  key_file: "+hexKey+"\n")
	outside := open(t, dir)
	if st := states(outside, "adder"); st["1"] != StateFailed || !strings.Contains(reasonOf(outside, "adder", "1"), "outside the allowed folders") {
		t.Errorf("key file outside the model's folder and --key-dirs: %v %q", st, reasonOf(outside, "adder", "1"))
	}
	r2 := openWith(t, Options{Dir: dir, KeyDirs: []string{keys}})
	if _, sum, err := addSum(t, r2, "1"); err != nil || sum != 11 {
		t.Fatalf("encrypted model, absolute hex key file in --key-dirs: sum %v, %v (%+v)", sum, err, r2.Index())
	}

	// A missing key file refuses the version with a reason naming it.
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"),
		adderConfig("latest: 1")+"encryption:\n  key_file: keys/absent.key\n")
	r3 := open(t, dir)
	if st := states(r3, "adder"); st["1"] != StateFailed || !strings.Contains(reasonOf(r3, "adder", "1"), "absent.key") {
		t.Errorf("missing key file: %v %q", st, reasonOf(r3, "adder", "1"))
	}
}

// TestEncryptedModelBound copies adder version 1's encrypted file, checksum
// and all, to version 2: the file binds model and version, so the copy is
// refused while version 1 serves. A format-1 file (no binding) loads, and
// is refused under RequireBoundModels.
func TestEncryptedModelBound(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	dir := encryptedAdderRepo(t, key)
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"),
		adderConfig("all: true")+"encryption:\n  key_env: TEST_ADDER_KEY\n")
	t.Setenv("TEST_ADDER_KEY", hex.EncodeToString(key))
	v1, v2 := filepath.Join(dir, "adder", "1"), filepath.Join(dir, "adder", "2")
	for _, name := range []string{"model.onnx.enc", "model.onnx.enc.sha256"} {
		data, err := os.ReadFile(filepath.Join(v1, name))
		if err != nil {
			t.Fatal(err)
		}
		testmodels.Write(t, filepath.Join(v2, name), data)
	}
	r := open(t, dir)
	if st := states(r, "adder"); st["1"] != StateReady || st["2"] != StateFailed ||
		!strings.Contains(reasonOf(r, "adder", "2"), "another model or version than adder/2") {
		t.Errorf("version 1's file as version 2: %v %q", st, reasonOf(r, "adder", "2"))
	}

	// Format 1: nonce || AES-256-GCM without associated data.
	os.RemoveAll(v2)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{1}, modelfile.NonceSize)
	old := gcm.Seal(nonce, nonce, testmodels.ModelBytes(t, "adder", "1"), nil)
	sum := sha256.Sum256(old)
	testmodels.Write(t, filepath.Join(v1, "model.onnx.enc"), old)
	testmodels.WriteFile(t, filepath.Join(v1, "model.onnx.enc.sha256"), hex.EncodeToString(sum[:])+"\n")
	r2 := open(t, dir)
	if _, got, err := addSum(t, r2, "1"); err != nil || got != 11 {
		t.Errorf("format-1 file: sum %v, %v", got, err)
	}
	r3 := openWith(t, Options{Dir: dir, RequireBoundModels: true})
	if st := states(r3, "adder"); st["1"] != StateFailed || !strings.Contains(reasonOf(r3, "adder", "1"), "format 1") {
		t.Errorf("format-1 file with RequireBoundModels: %v %q", st, reasonOf(r3, "adder", "1"))
	}
}

// TestRemovedWhilePolling runs the poller and removes first a version
// folder, then a whole model folder: each stops serving without a call.
func TestRemovedWhilePolling(t *testing.T) {
	dir := testmodels.Repo(t, "adder", "tiny_classifier")
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig("all: true"))
	r := open(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, 10*time.Millisecond)
	if _, sum, err := addSum(t, r, "3"); err != nil || sum != 13 {
		t.Fatalf("version 3 before removal: %v %v", sum, err)
	}
	// eventually waits (by polling, up to 30 s) for cond.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened: %+v", what, r.Index())
			}
		}
	}
	os.RemoveAll(filepath.Join(dir, "adder", "3"))
	eventually("version 3 unloaded", func() bool {
		_, ok := states(r, "adder")["3"]
		return !ok
	})
	if _, _, err := addSum(t, r, "3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed version 3: %v, want not found", err)
	}
	if v, sum, err := addSum(t, r, ""); err != nil || v != "2" || sum != 12 {
		t.Errorf("latest after removing 3: %s %v %v", v, sum, err)
	}
	os.RemoveAll(filepath.Join(dir, "adder"))
	eventually("adder unloaded", func() bool { return len(states(r, "adder")) == 0 })
	if _, _, err := addSum(t, r, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed model: %v, want not found", err)
	}
	if !r.Ready() {
		t.Errorf("not ready with the remaining model: %+v", r.Index())
	}
}

// TestFailedLoadKeepsOld adds a broken newer version: the old one keeps
// serving, and the broken one is refused with its reason.
func TestFailedLoadKeepsOld(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	os.RemoveAll(filepath.Join(dir, "adder", "3"))
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig("latest: 1"))
	os.RemoveAll(filepath.Join(dir, "adder", "2"))
	r := open(t, dir)
	if v, _, err := addSum(t, r, ""); err != nil || v != "1" {
		t.Fatalf("before: %s %v", v, err)
	}
	testmodels.Write(t, filepath.Join(dir, "adder", "2", "model.onnx"), []byte("not an onnx model"))
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, sum, err := addSum(t, r, ""); err != nil || v != "1" || sum != 11 {
		t.Errorf("after a failed load: version %s sum %v (%v), want version 1", v, sum, err)
	}
	if st := states(r, "adder"); st["1"] != StateReady || st["2"] != StateFailed {
		t.Errorf("states %v", st)
	}
	if r.Ready() {
		t.Error("ready although the wanted version failed")
	}
	// Fixed files load on the next poll, and the old version goes.
	testmodels.Write(t, filepath.Join(dir, "adder", "2", "model.onnx"), testmodels.ModelBytes(t, "adder", "2"))
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, sum, err := addSum(t, r, ""); err != nil || v != "2" || sum != 12 {
		t.Errorf("after the fix: version %s sum %v (%v)", v, sum, err)
	}
	if st := states(r, "adder"); st["1"] != StateUnavailable || st["2"] != StateReady || !r.Ready() {
		t.Errorf("states %v ready %v", st, r.Ready())
	}
}

// TestFailedReloadKeepsServing changes a serving version's files to broken
// ones: it keeps serving the old files, with a reason.
func TestFailedReloadKeepsServing(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	r := open(t, dir)
	testmodels.Write(t, filepath.Join(dir, "adder", "3", "model.onnx"), []byte("broken"))
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, sum, err := addSum(t, r, "3"); err != nil || sum != 13 {
		t.Errorf("version 3 after a failed reload: %v %v", sum, err)
	}
	if st := states(r, "adder"); st["3"] != StateReady || !strings.Contains(reasonOf(r, "adder", "3"), "reload failed") {
		t.Errorf("state %v reason %q", st, reasonOf(r, "adder", "3"))
	}
}

// TestHotReloadUnderLoad swaps versions while clients send requests
// without a version: none may fail.
func TestHotReloadUnderLoad(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	os.RemoveAll(filepath.Join(dir, "adder", "2"))
	os.RemoveAll(filepath.Join(dir, "adder", "3"))
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig("latest: 1"))
	r := open(t, dir)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, _, err := addSum(t, r, ""); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	// Each step waits for traffic first, so every swap happens under load.
	traffic := func() {
		for start := ok.Load(); ok.Load() < start+50 && failed.Load() == 0; {
			runtime.Gosched()
		}
	}
	for _, v := range []string{"2", "3"} {
		traffic()
		src := filepath.Join(testmodels.Source(), "adder", v)
		testmodels.Write(t, filepath.Join(dir, "adder", v, "model.onnx"), mustRead(t, filepath.Join(src, "model.onnx")))
		if err := r.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.ReadyVersions("adder"); strings.Join(got, ",") != v {
			t.Errorf("ready after adding %s: %v", v, got)
		}
	}
	// A config change reloads the serving version in place.
	traffic()
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig("latest: 1")+"instance_group: {count: 2}\n")
	if _, err := r.Load(context.Background(), "adder", ""); err != nil {
		t.Fatal(err)
	}
	traffic()
	cancel()
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if v, sum, err := addSum(t, r, ""); err != nil || v != "3" || sum != 13 {
		t.Errorf("after reloads: %s %v %v", v, sum, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadUnload(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), adderConfig("latest: 1"))
	r := open(t, dir)
	ctx := context.Background()

	// Load outside the policy pins the version.
	got, err := r.Load(ctx, "adder", "1")
	if err != nil || strings.Join(got, ",") != "1,3" {
		t.Fatalf("Load(1) = %v, %v", got, err)
	}
	if err := r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.ReadyVersions("adder"); strings.Join(got, ",") != "1,3" {
		t.Errorf("a poll dropped the pinned version: %v", got)
	}
	if err := r.Unload(ctx, "adder", "1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := addSum(t, r, "1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unloaded version: %v", err)
	}
	if err := r.Unload(ctx, "adder", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := addSum(t, r, ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unloaded model: %v", err)
	}
	if err := r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.ReadyVersions("adder"); len(got) != 0 {
		t.Errorf("a poll reloaded an unloaded model: %v", got)
	}
	if !r.Ready() {
		t.Error("a model unloaded on purpose makes the server unready")
	}
	if got, err := r.Load(ctx, "adder", ""); err != nil || strings.Join(got, ",") != "3" {
		t.Errorf("Load() = %v, %v", got, err)
	}
	for _, bad := range []struct{ model, version string }{{"nope", ""}, {"../adder", ""}, {"adder", "9"}} {
		if _, err := r.Load(ctx, bad.model, bad.version); !errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%q, %q): %v", bad.model, bad.version, err)
		}
	}
	if err := r.Unload(ctx, "adder", "9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Unload of an unknown version: %v", err)
	}
}

func TestConfigErrorsAndRemoval(t *testing.T) {
	dir := testmodels.Repo(t, "adder", "tiny_classifier")
	r := open(t, dir)
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), "max_batch_size: -1\nbogus: 1\n")
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The serving versions keep serving with the config they loaded with.
	if _, sum, err := addSum(t, r, "3"); err != nil || sum != 13 {
		t.Errorf("after a bad config: %v %v", sum, err)
	}
	if r.Ready() {
		t.Error("ready with a refused config")
	}
	if _, err := r.Load(context.Background(), "adder", ""); !errors.Is(err, ErrLoadFailed) || !strings.Contains(err.Error(), `unknown key "bogus"`) {
		t.Errorf("Load with a bad config: %v", err)
	}
	os.RemoveAll(filepath.Join(dir, "adder"))
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := addSum(t, r, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed model: %v", err)
	}
	if !r.Ready() {
		t.Errorf("not ready: %+v", r.Index())
	}
}

func TestBadModelMetadata(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	// Config says FP64 where the model has FP32: refused with both named.
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), `max_batch_size: 8
inputs:
  - {name: a, datatype: FP64, dims: [4]}
  - {name: b, datatype: FP32, dims: [4]}
`)
	r := open(t, dir)
	if reason := reasonOf(r, "adder", "3"); !strings.Contains(reason, `input "a" is FP64, the model says FP32`) {
		t.Errorf("reason %q", reason)
	}
}

// TestSymlinkedFolders serves a model folder and a version folder that are
// symbolic links, as Kubernetes volumes and atomic deploys make them.
func TestSymlinkedFolders(t *testing.T) {
	store := testmodels.Repo(t, "adder")
	os.RemoveAll(filepath.Join(store, "adder", "3"))
	if err := os.Rename(filepath.Join(store, "adder", "2"), filepath.Join(store, "v2-build")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(store, "v2-build"), filepath.Join(store, "adder", "2")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(store, "adder"), filepath.Join(dir, "adder")); err != nil {
		t.Fatal(err)
	}
	r := open(t, dir)
	if got, _ := r.ReadyVersions("adder"); strings.Join(got, ",") != "1,2" {
		t.Errorf("ready versions %v, want 1,2", got)
	}
}
