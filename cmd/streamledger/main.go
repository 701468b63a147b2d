// Command streamledger is the Fluxora event-sourced ledger projection engine: it ingests Stellar ledgers, keeps
// every contract event in an immutable store, and serves projections rebuilt from that store.
//
// `streamledger` with no command runs `serve`. Every flag can also be set with its environment variable; see
// `streamledger help` and `streamledger COMMAND --help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/streamledger/streamledger/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exit codes
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	// run receives its own FlagSet, already parsed, and the remaining arguments.
	run func(ctx context.Context, env *runEnv, args []string) error
	// flags registers the command's own flags; settings are registered for commands that read the configuration.
	flags    func(fs *flag.FlagSet) any
	settings bool
}

// runEnv is what a command gets from main: its configuration and where to write.
type runEnv struct {
	cfg    *config.Config
	opts   any
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
	summ   []slog.Attr
}

func commands() []command {
	return []command{
		{name: "serve", summary: "ingest ledgers and serve the API (the default command)", run: runServe, settings: true},
		{name: "replay", summary: "rebuild the PostgreSQL projections into new generations, compare with the live ones and switch", run: runReplay, flags: replayFlags, settings: true},
		{name: "rewind", summary: "after a reorg deeper than the safety margin halted ingestion: compensate the ledgers above --to (audited)", run: runRewind, flags: rewindFlags, settings: true},
		{name: "audit export", summary: "export the audit log (filtered) to --out, with its manifest beside it", run: runAuditExport, flags: auditExportFlags, settings: true},
		{name: "audit verify", summary: "verify an audit export FILE against its --manifest and the log's public key", run: runAuditVerify, flags: auditVerifyFlags},
		{name: "healthcheck", summary: "exit 0 if the serve on LISTEN_ADDR answers /health (the container's health check)", run: runHealthcheck, settings: true},
		{name: "lake make", summary: "write a SEP-54 data lake of the simulator's final chain to --out (with --pubnet-filler K: K pubnet-sized ledgers between each)", run: runLakeMake, flags: lakeMakeFlags, settings: true},
		{name: "reconcile", summary: "compare the projections of CONTRACTS with their storage read through RPC_URL, once; drifts are recorded in the log and printed", run: runReconcile, settings: true},
		{name: "migrate", summary: "create or upgrade the PostgreSQL schema (serve also does this at start)", run: runMigrate, settings: true},
		{name: "version", summary: "print the version", run: func(_ context.Context, env *runEnv, _ []string) error {
			_, err := fmt.Fprintln(env.stdout, "streamledger", version)
			return err
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// errUsage marks errors that are the caller's: bad flags, unknown commands, invalid configuration.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmds := commands()
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if (name == "audit" && len(args) > 0 && (args[0] == "export" || args[0] == "verify")) || (name == "lake" && len(args) > 0 && args[0] == "make") {
		name, args = name+" "+args[0], args[1:]
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") && name == "serve" {
		fmt.Fprintln(stdout, "streamledger", version)
		return exitOK
	}
	if name == "help" {
		usage(stdout, cmds)
		return exitOK
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == name {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "streamledger: unknown command %q\n\n", name)
		usage(stderr, cmds)
		return exitUsage
	}
	fs := flag.NewFlagSet("streamledger "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: streamledger %s [flags]\n\n%s.\n\nFlags (each also read from the environment variable in brackets):\n", cmd.name, cmd.summary)
		fs.PrintDefaults()
	}
	var settings *config.Settings
	if cmd.settings {
		settings = config.Register(fs)
	}
	env := &runEnv{stdout: stdout, stderr: stderr}
	if cmd.flags != nil {
		env.opts = cmd.flags(fs)
	}
	// Arguments may come between flags (`audit verify FILE --manifest M`): parse again after each one.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
	if settings != nil {
		cfg, err := settings.Load(lookupEnv)
		if err != nil {
			fmt.Fprintf(stderr, "streamledger %s: %v\n", cmd.name, err)
			return exitUsage
		}
		env.cfg, env.summ = cfg, settings.Summary()
		env.log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	} else {
		env.log = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	if err := cmd.run(ctx, env, positional); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "streamledger %s: %v\n", cmd.name, err)
			return exitUsage
		}
		env.log.Error("command failed", "command", cmd.name, "error", err.Error())
		return exitFailed
	}
	return exitOK
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "streamledger: an event-sourced ledger projection engine for Fluxora streams on Stellar.")
	fmt.Fprintln(w, "\nUsage: streamledger [COMMAND] [flags]\n\nCommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'streamledger COMMAND --help' for a command's flags. Every flag has an environment variable.")
}
