package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
)

// encrypt implements `modelgate-sidecar encrypt (--key-env NAME | --key-file
// PATH) MODELS/MODEL/VERSION`: it seals the folder's model.onnx, or re-seals a
// format-1 model.onnx.enc, as a format-2 model.onnx.enc bound to MODEL and
// VERSION (the folder's own names), writes its .sha256 and removes what it
// replaced. Exit 0 done, 1 failed, 2 bad usage.
func encrypt(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("modelgate-sidecar encrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var enc config.Encryption
	fs.StringVar(&enc.KeyEnv, "key-env", "", "environment variable holding the key (64 hex digits or base64 of 32 bytes)")
	fs.StringVar(&enc.KeyFile, "key-file", "", "file holding the key (64 hex digits or base64 of 32 bytes)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (enc.KeyEnv == "") == (enc.KeyFile == "") {
		fmt.Fprintln(stderr, "usage: modelgate-sidecar encrypt (--key-env NAME | --key-file PATH) MODELS/MODEL/VERSION")
		return 2
	}
	if err := encryptVersion(fs.Arg(0), &enc); err != nil {
		fmt.Fprintln(stderr, "encrypt:", err)
		return 1
	}
	return 0
}

func encryptVersion(dir string, enc *config.Encryption) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	id := modelfile.Identity{Model: filepath.Base(filepath.Dir(abs)), Version: filepath.Base(abs)}
	if err := errors.Join(config.CheckModelName(id.Model), config.CheckVersion(id.Version)); err != nil {
		return fmt.Errorf("%s is not a version folder MODELS/MODEL/VERSION: %w", dir, err)
	}
	if enc.KeyFile != "" {
		// On the command line a relative --key-file is the user's, from the
		// working directory, not the version folder's as in config.yaml.
		if enc.KeyFile, err = filepath.Abs(enc.KeyFile); err != nil {
			return err
		}
	}
	// The operator named the key file: its folder is allowed.
	key := modelfile.KeyFromConfig(enc, abs, pathbound.Folders{filepath.Dir(enc.KeyFile)})
	m, err := modelfile.Read(abs, id, modelfile.ReadOptions{Key: key})
	if err != nil {
		return err
	}
	defer clear(m.Bytes)
	plainPath := filepath.Join(abs, modelfile.Plain)
	_, statErr := os.Stat(plainPath)
	if hasPlain := statErr == nil; !hasPlain && !m.Unbound {
		return errors.New(filepath.Join(dir, modelfile.Encrypted) + " is bound already")
	}
	k, err := key()
	if err != nil {
		return err
	}
	sealed, err := modelfile.Encrypt(k, m.Bytes, id)
	clear(k)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(sealed)
	out := filepath.Join(abs, modelfile.Encrypted)
	if err := writeAtomic(out, sealed); err != nil {
		return err
	}
	if err := writeAtomic(out+modelfile.SumSuffix, []byte(hex.EncodeToString(sum[:])+"  "+modelfile.Encrypted+"\n")); err != nil {
		return err
	}
	if statErr == nil {
		return errors.Join(os.Remove(plainPath), os.Remove(plainPath+modelfile.SumSuffix))
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
