// tlog_client is an independent C2SP tlog-tiles client built only on the Go team's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog. It shares no code with
// cloudpact, so a log that passes here is verifiable by a client "no one here wrote".
//
//	tlog_client -url http://127.0.0.1:PORT/ledger -vkey VKEY [-old-size M -old-root B64]
//
// It verifies the checkpoint signature, recomputes the root from the hash tiles,
// checks every entry (or a sample) against its leaf hash with an inclusion proof, and,
// given an older checkpoint, checks a consistency proof. Exit 0 on success, 1 on any
// verification failure, 2 on a usage error.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
	maxChecked = 2000
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

func fetch(url string) ([]byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return body, nil
}

// c2spTilePath maps a tlog tile to its C2SP tlog-tiles path. Go's Tile.Path() is
// "tile/<H>/<L>/<N>[.p/<W>]"; C2SP fixes the height at 8 and omits it.
func c2spTilePath(t tlog.Tile) (string, error) {
	if t.H != tileHeight || t.L < 0 {
		return "", fmt.Errorf("unexpected tile %+v", t)
	}
	p := t.Path()
	prefix := fmt.Sprintf("tile/%d/", tileHeight)
	if !strings.HasPrefix(p, prefix) {
		return "", fmt.Errorf("unexpected Go tile path %q", p)
	}
	return "tile/" + strings.TrimPrefix(p, prefix), nil
}

// entriesPath is the C2SP path of entry bundle n, holding w entries.
func entriesPath(n int64, w int) string {
	// Reuse Go's N encoding (x001/x234/067) through a level-0 tile.
	p := tlog.Tile{H: tileHeight, L: 0, N: n, W: w}.Path()
	return "tile/entries/" + strings.TrimPrefix(p, fmt.Sprintf("tile/%d/0/", tileHeight))
}

// tileReader implements tlog.TileReader over HTTP. It only fetches; tlog's
// TileHashReader authenticates every tile against the checkpoint's root.
type tileReader struct {
	base    string
	mu      sync.Mutex
	cache   map[tlog.Tile][]byte
	fetches int
}

func (r *tileReader) Height() int { return tileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		r.mu.Lock()
		data, ok := r.cache[t]
		r.mu.Unlock()
		if !ok {
			p, err := c2spTilePath(t)
			if err != nil {
				return nil, err
			}
			data, err = fetch(r.base + "/" + p)
			if err != nil {
				return nil, err
			}
			if len(data) != t.W*tlog.HashSize {
				return nil, fmt.Errorf("%s: %d bytes, want %d", p, len(data), t.W*tlog.HashSize)
			}
			r.mu.Lock()
			r.cache[t] = data
			r.fetches++
			r.mu.Unlock()
		}
		out[i] = data
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// parseCheckpoint parses a C2SP tlog-checkpoint body: origin, size, base64 root,
// then optional extension lines.
func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	if !strings.HasSuffix(text, "\n") {
		return c, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("checkpoint has %d lines, want at least 3", len(lines))
	}
	for _, l := range lines[3:] {
		if l == "" {
			return c, errors.New("checkpoint has an empty extension line")
		}
	}
	c.origin = lines[0]
	if c.origin == "" {
		return c, errors.New("checkpoint origin is empty")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return c, fmt.Errorf("bad checkpoint size %q", lines[1])
	}
	c.size = n
	root, err := parseRoot(lines[2])
	if err != nil {
		return c, err
	}
	c.root = root
	return c, nil
}

func parseRoot(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("bad root hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

// parseBundle splits a C2SP entry bundle into its entries (uint16 big-endian length
// prefix per entry).
func parseBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("truncated length prefix")
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if len(data) < n {
			return nil, errors.New("truncated entry")
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out, nil
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlog_client: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	url := flag.String("url", "", "log URL prefix, e.g. http://127.0.0.1:8080/ledger")
	vkey := flag.String("vkey", "", "the log's verifier key (note.NewVerifier format)")
	oldSize := flag.Int64("old-size", -1, "size of an earlier checkpoint to check consistency with")
	oldRootB64 := flag.String("old-root", "", "base64 root of that earlier checkpoint")
	flag.Parse()
	if *url == "" || *vkey == "" || (*oldSize >= 0) != (*oldRootB64 != "") {
		fmt.Fprintln(os.Stderr, "usage: tlog_client -url URL -vkey VKEY [-old-size M -old-root B64]")
		os.Exit(2)
	}
	base := strings.TrimSuffix(*url, "/")

	// 1. The checkpoint and its signature.
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tlog_client: bad -vkey: %v\n", err)
		os.Exit(2)
	}
	msg, err := fetch(base + "/checkpoint")
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		fail("%v", err)
	}
	if cp.origin != verifier.Name() {
		fail("checkpoint origin %q differs from key name %q", cp.origin, verifier.Name())
	}
	if cp.size == 0 {
		fail("checkpoint is empty; nothing to verify")
	}

	// 2. The root, recomputed from the hash tiles by Go's tlog.
	tr := &tileReader{base: base, cache: map[tlog.Tile][]byte{}}
	tree := tlog.Tree{N: cp.size, Hash: cp.root}
	hr := tlog.TileHashReader(tree, tr)
	got, err := tlog.TreeHash(cp.size, hr)
	if err != nil {
		fail("recomputing root from tiles: %v", err)
	}
	if got != cp.root {
		fail("root from tiles %s != checkpoint root %s", got, cp.root)
	}

	// 3. Entries: leaf hash and inclusion proof for every entry, or a sample.
	check := map[int64]bool{}
	if cp.size <= maxChecked {
		for i := int64(0); i < cp.size; i++ {
			check[i] = true
		}
	} else {
		step := cp.size / maxChecked
		for i := int64(0); i < cp.size; i += step {
			check[i] = true
		}
		for _, i := range []int64{0, tileWidth - 1, tileWidth, cp.size - 1} {
			if i < cp.size {
				check[i] = true
			}
		}
	}
	checked := 0
	bundles := 0
	for b := int64(0); b*tileWidth < cp.size; b++ {
		first := b * tileWidth
		w := cp.size - first
		if w > tileWidth {
			w = tileWidth
		}
		var want []int64
		for i := first; i < first+w; i++ {
			if check[i] {
				want = append(want, i)
			}
		}
		if len(want) == 0 {
			continue
		}
		path := entriesPath(b, int(w))
		data, err := fetch(base + "/" + path)
		if err != nil {
			fail("%v", err)
		}
		bundles++
		entries, err := parseBundle(data)
		if err != nil {
			fail("%s: %v", path, err)
		}
		if int64(len(entries)) != w {
			fail("%s: %d entries, want %d", path, len(entries), w)
		}
		idx := make([]int64, len(want))
		for k, i := range want {
			idx[k] = tlog.StoredHashIndex(0, i)
		}
		stored, err := hr.ReadHashes(idx)
		if err != nil {
			fail("reading leaf hashes of %s: %v", path, err)
		}
		for k, i := range want {
			leaf := tlog.RecordHash(entries[i-first])
			if leaf != stored[k] {
				fail("entry %d: RecordHash %s != tile hash %s", i, leaf, stored[k])
			}
			proof, err := tlog.ProveRecord(cp.size, i, hr)
			if err != nil {
				fail("entry %d: ProveRecord: %v", i, err)
			}
			if err := tlog.CheckRecord(proof, cp.size, cp.root, i, leaf); err != nil {
				fail("entry %d: CheckRecord: %v", i, err)
			}
			checked++
		}
	}

	// 4. Consistency with an earlier checkpoint.
	consistency := ""
	if *oldSize >= 0 {
		oldRoot, err := parseRoot(*oldRootB64)
		if err != nil {
			fail("-old-root: %v", err)
		}
		if *oldSize > cp.size {
			fail("old size %d > current size %d", *oldSize, cp.size)
		}
		proof, err := tlog.ProveTree(cp.size, *oldSize, hr)
		if err != nil {
			fail("ProveTree(%d, %d): %v", cp.size, *oldSize, err)
		}
		if err := tlog.CheckTree(proof, cp.size, cp.root, *oldSize, oldRoot); err != nil {
			fail("consistency %d -> %d: CheckTree: %v", *oldSize, cp.size, err)
		}
		// And independently: the old root recomputed from the new tree's tiles.
		if h, err := tlog.TreeHash(*oldSize, hr); err != nil || h != oldRoot {
			fail("root at size %d from current tiles is %s (err %v), want %s", *oldSize, h, err, oldRoot)
		}
		consistency = fmt.Sprintf(", consistent with size %d (proof of %d hashes)", *oldSize, len(proof))
	}

	fmt.Printf("tlog_client: OK origin=%q size=%d root=%s: signature verified, root recomputed from %d hash tiles, %d entries checked in %d bundles with inclusion proofs%s\n",
		cp.origin, cp.size, cp.root, tr.fetches, checked, bundles, consistency)
}
