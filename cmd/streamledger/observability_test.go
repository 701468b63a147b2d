package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Grafana dashboard and the Prometheus alert rules in docs/observability use only metrics that a running serve
// exports: a renamed or removed metric would leave a panel empty and an alert silent, and this fails first.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "observability")
	var exprs []string
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "grafana-dashboard.json")), &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("the alert rules are not YAML: %v", err)
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("a rule without a name or an expression: %+v", r)
			}
			exprs = append(exprs, r.Expr)
			alerts++
		}
	}
	if len(dash.Panels) < 8 || alerts < 6 {
		t.Fatalf("%d panels, %d alerts: the files were not read", len(dash.Panels), alerts)
	}
	used := map[string]bool{}
	name := regexp.MustCompile(`streamledger_[a-z_]+`)
	for _, e := range exprs {
		for _, m := range name.FindAllString(e, -1) {
			used[strings.TrimSuffix(m, "_bucket")] = true
		}
	}

	// A serve on PostgreSQL (it elects a leader) over a short simulated chain with reorgs, caught up.
	d := newDeployment(t, "postgres")
	env := d.simEnv(30, true)
	base, stop := startServe(t, env)
	defer stop()
	waitForTip(t, base, 30)
	exported := map[string]bool{}
	for _, l := range strings.Split(getText(t, base+"/metrics"), "\n") {
		if f, ok := strings.CutPrefix(l, "# TYPE "); ok {
			exported[strings.Fields(f)[0]] = true
		}
	}
	var missing []string
	for m := range used {
		if !exported[m] {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the dashboard or the alerts use metrics /metrics does not export: %v", missing)
	}
	if len(used) < 12 {
		t.Fatalf("only %d metrics used", len(used))
	}
}
