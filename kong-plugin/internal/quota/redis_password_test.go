package quota

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// TestRedisPasswordRotation reads the Redis password from a file mounted as
// kubelet mounts a Secret (a ..data symlink), then rotates it: Redis's
// requirepass changes, the ..data symlink is swapped to the new file and
// every connection is dropped. The next Take dials with the new password.
func TestRedisPasswordRotation(t *testing.T) {
	r := testutil.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer admin.Close()
	ctx := context.Background()

	dir := t.TempDir()
	mount := func(gen, password string) {
		if err := os.Mkdir(filepath.Join(dir, gen), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, gen, "redis-password"), []byte(password), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(gen, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	mount("..gen1", "first-redis-password")
	if err := os.Symlink("..data/redis-password", filepath.Join(dir, "redis-password")); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "requirepass", "first-redis-password").Err(); err != nil {
		t.Fatal(err)
	}
	admin = redis.NewClient(&redis.Options{Addr: r.Addr, Password: "first-redis-password"})
	defer admin.Close()

	cfg := redisConfig(r.Addr, false, Tier{Name: "t", Minute: 100})
	cfg.Redis.Password = "file:" + filepath.Join(dir, "redis-password")
	l, _ := newTestLimiter(t, cfg, WithSecretWatch(secret.WatchOptions{CheckInterval: -1, Logger: testutil.Logger(t)}))
	if d := take(t, l, "alice", "t", 0); !d.Allowed {
		t.Fatalf("first password: %+v", d)
	}

	if err := admin.ConfigSet(ctx, "requirepass", "second-redis-password").Err(); err != nil {
		t.Fatal(err)
	}
	mount("..gen2", "second-redis-password")
	if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal").Err(); err != nil {
		t.Fatal(err)
	}
	// The pool may hold a connection the kill closed: go-redis notices on
	// its next use, so the first Take after the kill can fail on it.
	var err error
	for range 3 {
		var d Decision
		if d, err = l.Take(ctx, "alice", "t", 0); err == nil {
			if !d.Allowed {
				t.Fatalf("second password: %+v", d)
			}
			break
		}
	}
	if err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
}
