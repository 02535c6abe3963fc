package quota

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelgate/modelgate/internal/testutil"
)

// startClusterNode starts a real redis-server in cluster mode owning all
// 16384 slots: a one-node Redis Cluster. It refuses any command whose keys
// hash to different slots (CROSSSLOT), exactly as a many-node cluster does.
func startClusterNode(t *testing.T) string {
	t.Helper()
	port := testutil.FreePort(t)
	dir := t.TempDir()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-config-file", dir+"/nodes.conf")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("cluster node did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster state not ok: %q %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisCluster(t *testing.T) {
	addr := startClusterNode(t)
	cfg := Config{Policy: PolicyRedis, Redis: Redis{Addr: addr, Cluster: true, Timeout: "500ms"},
		Tiers: []Tier{{Name: "t", Second: 5, Minute: 5, Hour: 5, Day: 5, Concurrency: 2, ItemsPerDay: 50}}}
	l, _ := newTestLimiter(t, cfg)
	for _, consumer := range []string{"alice", "a}b:{c", "{x}"} {
		d, err := l.Take(context.Background(), consumer, "t", 3)
		if err != nil || !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Items-Day") != "47" {
			t.Fatalf("%s: %+v, %v", consumer, d, err)
		}
		d.Release()
	}
}
