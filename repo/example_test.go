package repo_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
)

// Back up a volume stream into a new local repository and restore it.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cairn-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	kdf := crypto.TestKDFParams() // fast for the example; omit for real repositories
	r, err := repo.Init(ctx, filepath.Join(dir, "repo"), repo.InitOptions{
		Password: []byte("secret"), KDF: &kdf, CacheDir: filepath.Join(dir, "cache"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	volume := bytes.Repeat([]byte("block device contents "), 100000) // any io.Reader: a device, a file, stdin
	snap, err := r.Backup(ctx, bytes.NewReader(volume), repo.BackupOptions{Name: "pvc-data", Tags: []string{"app=db"}})
	if err != nil {
		log.Fatal(err)
	}

	var restored bytes.Buffer
	if err := r.RestoreStream(ctx, snap.ID, &restored, repo.RestoreOptions{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(snap.Name, snap.Size, bytes.Equal(restored.Bytes(), volume))
	// Output: pvc-data 2200000 true
}

// Open an existing repository and find the newest snapshot of a volume.
func ExampleRepository_FindSnapshot() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "cairn-example-")
	defer os.RemoveAll(dir)
	kdf := crypto.TestKDFParams()
	loc := filepath.Join(dir, "repo")
	r, err := repo.Init(ctx, loc, repo.InitOptions{Password: []byte("pw"), KDF: &kdf, CacheDir: "off"})
	if err != nil {
		log.Fatal(err)
	}
	for _, gen := range []string{"first", "second"} {
		if _, err := r.Backup(ctx, bytes.NewReader([]byte(gen)), repo.BackupOptions{Name: "vol"}); err != nil {
			log.Fatal(err)
		}
	}
	r.Close()

	r, err = repo.Open(ctx, loc, repo.OpenOptions{Password: []byte("pw"), CacheDir: "off"})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	latest, err := r.FindSnapshot(ctx, "latest", "vol")
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.RestoreStream(ctx, latest.ID, &out, repo.RestoreOptions{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.String())
	// Output: second
}
