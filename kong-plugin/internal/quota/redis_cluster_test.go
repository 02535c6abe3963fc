package quota

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// startCluster starts three real redis-server processes in cluster mode
// with a password, splits the slots between them and joins them (CLUSTER
// ADDSLOTSRANGE and MEET, what `redis-cli --cluster create` does), and
// returns their addresses once every node says cluster_state:ok.
func startCluster(t *testing.T, password string) []string {
	t.Helper()
	ctx := context.Background()
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	var addrs []string
	var admins []*redis.Client
	for _, r := range ranges {
		port := testutil.FreePort(t)
		dir := t.TempDir()
		cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", password, "--masterauth", password,
			"--cluster-enabled", "yes", "--cluster-config-file", dir+"/nodes.conf")
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting redis-server: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c := redis.NewClient(&redis.Options{Addr: addr, Password: password})
		t.Cleanup(func() { c.Close() })
		deadline := time.Now().Add(10 * time.Second)
		for c.Ping(ctx).Err() != nil {
			if time.Now().After(deadline) {
				t.Fatal("cluster node did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", r[0], r[1]).Err(); err != nil {
			t.Fatal(err)
		}
		addrs, admins = append(addrs, addr), append(admins, c)
	}
	for _, addr := range addrs[1:] {
		host, port, _ := strings.Cut(addr, ":")
		if err := admins[0].Do(ctx, "CLUSTER", "MEET", host, port).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range admins {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster state not ok: %q %v", info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

// connectionsReceived is a node's count of accepted connections, read over
// the one connection admin keeps.
func connectionsReceived(t *testing.T, admin *redis.Client) string {
	t.Helper()
	info, err := admin.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_connections_received:"); ok {
			return v
		}
	}
	t.Fatalf("no total_connections_received in %q", info)
	return ""
}

// TestRedisClusterNodesAllowed: with MODELGATE_ALLOW_REDIS naming only the
// seed of a real three-node cluster, a consumer whose counters live on
// another node gets an error and that node never receives a connection
// (so never the password); the seed's consumers are served. Allowing the
// nodes, as addresses or as a network, serves everyone.
func TestRedisClusterNodesAllowed(t *testing.T) {
	const password = "cluster-test-password"
	addrs := startCluster(t, password)
	var others []*redis.Client
	for _, addr := range addrs[1:] {
		c := redis.NewClient(&redis.Options{Addr: addr, Password: password, PoolSize: 1, MinIdleConns: 1})
		t.Cleanup(func() { c.Close() })
		others = append(others, c)
	}
	before := []string{connectionsReceived(t, others[0]), connectionsReceived(t, others[1])}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Policy: PolicyRedis, Redis: Redis{Addr: addrs[0], Cluster: true, Timeout: "2s", Password: "file:" + filepath.Join(dir, "password")},
		Tiers: []Tier{{Name: "t", Minute: 100}}}
	consumers := make([]string, 12)
	for i := range consumers {
		consumers[i] = fmt.Sprintf("consumer-%d", i)
	}
	takeAll := func(l *Limiter) (served, refused int) {
		for _, c := range consumers {
			d, err := l.Take(context.Background(), c, "t", 1)
			switch {
			case err == nil && d.Allowed:
				served++
				d.Release()
			case err != nil && strings.Contains(err.Error(), "not an allowed Redis address"):
				refused++
			default:
				t.Fatalf("%s: %+v %v", c, d, err)
			}
		}
		return served, refused
	}

	t.Setenv("MODELGATE_ALLOW_REDIS", addrs[0])
	l, _ := newTestLimiter(t, cfg)
	if served, refused := takeAll(l); served == 0 || refused == 0 {
		t.Fatalf("seed only: %d served, %d refused; want both (the consumers' slots span the nodes)", served, refused)
	}
	for i, c := range others {
		if got := connectionsReceived(t, c); got != before[i] {
			t.Errorf("node %s not allowed, yet it received connections: %s -> %s", addrs[i+1], before[i], got)
		}
	}

	for _, allow := range []string{strings.Join(addrs, ","), addrs[0] + ",127.0.0.0/8"} {
		t.Setenv("MODELGATE_ALLOW_REDIS", allow)
		l, _ := newTestLimiter(t, cfg)
		if served, refused := takeAll(l); refused != 0 {
			t.Errorf("MODELGATE_ALLOW_REDIS=%s: %d served, %d refused", allow, served, refused)
		}
	}
}
