package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/streamledger/streamledger/internal/config"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       string            `yaml:"build"`
		Profiles    []string          `yaml:"profiles"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// configEnvNames are the environment variables the binary reads.
func configEnvNames() []string {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	config.Register(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Usage, "[$") {
			names = append(names, config.EnvName(f.Name))
		}
	})
	return names
}

// The compose file starts PostgreSQL, EventStoreDB and streamledger in order, each with a health check, and a
// PostgreSQL-only profile; every variable it gives streamledger is one the binary reads, with a value it accepts.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	known := configEnvNames()
	for name, want := range map[string]struct {
		port      string
		dependsOn []string
		profile   string
	}{
		"postgres":              {port: "5432:5432"},
		"eventstore":            {port: "2113:2113"},
		"streamledger":          {port: "3000:3000", dependsOn: []string{"eventstore", "postgres"}},
		"streamledger-postgres": {port: "3001:3000", dependsOn: []string{"postgres"}, profile: "postgres"},
	} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if !slices.Contains(s.Ports, want.port) {
			t.Errorf("%s: ports %v, want %s", name, s.Ports, want.port)
		}
		if len(s.Healthcheck.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
		var deps []string
		for dep, d := range s.DependsOn {
			deps = append(deps, dep)
			if d.Condition != "service_healthy" {
				t.Errorf("%s starts before %s is healthy (%q)", name, dep, d.Condition)
			}
		}
		slices.Sort(deps)
		if !slices.Equal(deps, want.dependsOn) {
			t.Errorf("%s depends on %v, want %v", name, deps, want.dependsOn)
		}
		if (want.profile == "") != (len(s.Profiles) == 0) || (want.profile != "" && !slices.Contains(s.Profiles, want.profile)) {
			t.Errorf("%s: profiles %v, want %q", name, s.Profiles, want.profile)
		}
		if !strings.HasPrefix(name, "streamledger") {
			continue
		}
		if s.Build != "." || !slices.Equal(s.Healthcheck.Test, []string{"CMD", "/usr/local/bin/streamledger", "healthcheck"}) {
			t.Errorf("%s: build %q, health check %v", name, s.Build, s.Healthcheck.Test)
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if !slices.Contains(known, k) {
				t.Errorf("%s sets %s, which streamledger does not read", name, k)
			}
			env[k] = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAllString(v, "$1") // compose's default
		}
		settings := config.Register(flag.NewFlagSet("x", flag.ContinueOnError))
		cfg, err := settings.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Errorf("%s: its environment is not a valid configuration: %v", name, err)
			continue
		}
		if want.port[strings.Index(want.port, ":"):] != cfg.ListenAddr {
			t.Errorf("%s publishes %s but listens on %s", name, want.port, cfg.ListenAddr)
		}
		for _, dep := range want.dependsOn {
			if !strings.Contains(cfg.DatabaseURL+cfg.EventStoreURL, "@"+dep+":") && !strings.Contains(cfg.EventStoreURL, "//"+dep+":") {
				t.Errorf("%s does not reach %s by its service name", name, dep)
			}
		}
	}
}

// The image: built in stages, static, run by a non-root user, with a health check the binary itself answers.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(raw)
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(d, -1)); n < 2 {
		t.Errorf("%d stages, want a build stage and a runtime stage", n)
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(d)
	if user == nil || strings.HasPrefix(user[1], "root") || strings.HasPrefix(user[1], "0") {
		t.Errorf("runs as %v, want a non-root user", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", `HEALTHCHECK`, `"healthcheck"`, "EXPOSE 3000", "-X main.version="} {
		if !strings.Contains(d, want) {
			t.Errorf("the Dockerfile lacks %s", want)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": "5", "SIM_LEDGER_INTERVAL": "0s"}
	base, stop := startServe(t, env)
	defer stop()
	check := map[string]string{"LISTEN_ADDR": strings.TrimPrefix(base, "http://"), "DATA_DIR": env["DATA_DIR"]}
	if code, stdout, stderr := runCLI([]string{"healthcheck"}, check); code != exitOK || !strings.Contains(stdout, "healthy") {
		t.Fatalf("against a running serve: exit %d %s %s", code, stdout, stderr)
	}
	check["LISTEN_ADDR"] = "127.0.0.1:1"
	if code, _, _ := runCLI([]string{"healthcheck"}, check); code != exitFailed {
		t.Fatalf("with nothing listening: exit %d", code)
	}
}
