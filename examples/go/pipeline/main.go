// A subprocess pipeline in the shape of os/exec, on weft's loop: printf | sort | uniq -c,
// each stage's stdout pipe the next one's stdin, under a Timeout that would kill them all
// (CommandContext) if it expired.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"weft.dev/weft"
)

func run(l *weft.Loop) (string, error) {
	task, err := l.Spawn("pipeline", func(ctx context.Context) (any, error) {
		var out bytes.Buffer
		err := weft.Timeout(ctx, 30*time.Second, func(ctx context.Context, _ *weft.TimeoutScope) error {
			stages := []*weft.Cmd{
				l.CommandContext(ctx, "printf", "pear\\napple\\npear\\nfig\\napple\\npear\\n"),
				l.CommandContext(ctx, "sort"),
				l.CommandContext(ctx, "uniq", "-c"),
			}
			for i := 0; i+1 < len(stages); i++ {
				pipe, err := stages[i].StdoutPipe()
				if err != nil {
					return err
				}
				stages[i+1].Stdin = pipe
			}
			stages[len(stages)-1].Stdout = &out
			for _, c := range stages {
				if err := c.Start(); err != nil {
					return err
				}
			}
			// The last stage first: waiting closes a stage's pipes, so each is waited
			// for once the one reading from it is done.
			for i := len(stages) - 1; i >= 0; i-- {
				if err := stages[i].Wait(); err != nil {
					return fmt.Errorf("%s: %w", stages[i].Path, err)
				}
			}
			return nil
		})
		return out.String(), err
	})
	if err != nil {
		return "", err
	}
	v, err := task.Await(context.Background())
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func main() {
	l, err := weft.NewLoop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	out, err := run(l)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
	fmt.Print("printf | sort | uniq -c:\n", out)
}
