// A program outside the weft tree using the installed library through weft.dev/weft:
// run_tests.sh (mode install) builds it in a throwaway module and checks its output.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"weft.dev/weft"
)

func main() {
	l, err := weft.NewLoop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	task, err := l.Spawn("main", func(ctx context.Context) (any, error) {
		var children []*weft.Task
		err := weft.RunTaskGroup(ctx, func(ctx context.Context, g *weft.TaskGroup) error {
			for _, w := range []string{"from", "outside"} {
				w := w
				child, err := g.Spawn("", func(ctx context.Context) (any, error) {
					out, err := l.Command("echo", w).Output()
					return strings.TrimSpace(string(out)), err
				})
				if err != nil {
					return err
				}
				children = append(children, child)
			}
			return nil
		})
		var words []string
		for _, c := range children {
			if v, err := c.Await(ctx); err == nil {
				words = append(words, v.(string))
			}
		}
		return strings.Join(words, " "), err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	v, err := task.Await(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("weft outside the tree:", v)
}
