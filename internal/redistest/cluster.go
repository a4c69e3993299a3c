package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of three masters and no replicas, each a Server.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts three redis-server processes with cluster mode on,
// joins them with `redis-cli --cluster create ... --cluster-replicas 0
// --cluster-yes` and waits until every node reports cluster_state:ok and
// knows all three masters.
func StartCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	for i := 0; i < 3; i++ {
		c.Nodes = append(c.Nodes, Start(t, append([]Option{withCluster()}, opts...)...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitOK(20 * time.Second); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return c
}

// Addrs are the masters' "127.0.0.1:port" addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

func (c *Cluster) waitOK(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var bad string
		for _, n := range c.Nodes {
			info, err := n.Do("CLUSTER", "INFO")
			switch {
			case err != nil:
				bad = fmt.Sprintf("%s: %v", n.Addr(), err)
			case !strings.Contains(info, "cluster_state:ok"):
				bad = n.Addr() + " is not cluster_state:ok"
			case !strings.Contains(info, "cluster_known_nodes:3"):
				bad = n.Addr() + " does not know all nodes yet"
			}
			if bad != "" {
				break
			}
		}
		if bad == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not ready after %v: %s", timeout, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
