package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCLI(args []string, env map[string]string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errOut.String()
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		stderr string
	}{
		{"version command", []string{"version"}, nil, exitOK, "streamledger dev", ""},
		{"version flag", []string{"--version"}, nil, exitOK, "streamledger dev", ""},
		{"help", []string{"help"}, nil, exitOK, "serve", ""},
		{"serve help", []string{"serve", "--help"}, nil, exitOK, "", "[$SAFETY_MARGIN]"},
		{"unknown command", []string{"frobnicate"}, nil, exitUsage, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"--frob"}, nil, exitUsage, "", "flag provided but not defined: -frob"},
		{"bad env names the setting", nil, map[string]string{"STORE": "mysql"}, exitUsage, "", "--store / STORE"},
		{"stray argument", []string{"serve", "extra"}, nil, exitUsage, "", "takes no arguments"},
		{"migrate stray argument", []string{"migrate", "extra"}, nil, exitUsage, "", "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args, tt.env)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
}
