package chunk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
)

// goldenInput is 32 MiB of ChaCha8 output under a fixed seed.
func goldenInput() []byte {
	b := make([]byte, 32<<20)
	_, _ = rand.NewChaCha8([32]byte([]byte("cairn golden chunk boundaries 01"))).Read(b)
	return b
}

// goldenZeroInput is goldenInput with zero ranges punched in: aligned and
// unaligned, short and long, and a zero tail.
func goldenZeroInput() []byte {
	b := goldenInput()[:20<<20]
	for _, r := range [][2]int{
		{1 << 20, 1<<20 + 3*ZeroBlockSize},           // aligned run of 3 blocks
		{3<<20 + 100, 3<<20 + 100 + 2*ZeroBlockSize}, // unaligned: 1 whole block
		{5 << 20, 5<<20 + ZeroBlockSize - 1},         // short of a block: stays data
		{9<<20 + 7, 13 << 20},                        // long run
		{19<<20 + 12345, 20 << 20},                   // zero tail
	} {
		clear(b[r[0]:r[1]])
	}
	return b
}

// goldenChunks pins every chunk of goldenInput under testPol and the default
// sizes, like restic/chunker's own tests: a library upgrade or a change of
// Params handling that moves boundaries must fail here, since it would break
// deduplication against existing repositories.
var goldenChunks = []struct {
	length int
	sha256 string
}{
	{816674, "b52538fcb77944f6cc26a26f869299bafb8ab9b981dd167fb0740483898d2028"},
	{671714, "4c2b77631bc0a647068adedd7a2ae698d117c71182610b80c1b00ec11b675eb1"},
	{3406929, "5437a370dfad4771f82e6d27c4022f9dd04383ae7fd643a53708e758dc9ae916"},
	{1144648, "9983783fc8848dd6a1c39af73f81c45f40bf48d3764f04715c8f8a76b7b819ee"},
	{1047209, "1882fc4f6259a87295fbabd1de768f1e8d1198d4fd614a21762d04ed6f812e2d"},
	{1753877, "a3d2917fe34fd5206590846a995c4493232224a0e343283c1bed7c2201c865d5"},
	{2857923, "d4a382e1f7743cccf0803126eec6de0a197103b1e9253960fc34ca36d5d78e50"},
	{2339226, "21e6024b30e3e721207c84a1efeb05b67b161b18f0de980ae1608bc7d218f023"},
	{992155, "8ff2c863ad8a4a9b2efb8618b32fff8033326161cc9d1a5585ab06f4a5a176f9"},
	{682135, "cdd84c77b4f6fa1bc23cd073663e819089121bb4c1b72c66579de374e089514a"},
	{1325763, "a6ec362ca2db9c1d5a4e074641c4175aba3bd2a4a7db5f9316354917cdab1fc6"},
	{1266959, "38b60461f317f514b1003750bca7c182cb7fd02e8fa277e80da52af1fdba23fd"},
	{2141880, "698ecf1a24cbbd302c142fb257d893906a9cca59b90308e53331b13ca6d4dcc9"},
	{573792, "c193e9ceb370bd16ca9f91a5cfd434a3a659c02cc9a32dd158d81f643402591f"},
	{1978561, "894fee40b46afe35f4a93fc68a2f8f4ede37e115bb9e58cd15fbdf65e2730578"},
	{1072436, "adebb64274fa50d30bd314a317f033653389075d6d3601dedbd9de855706cf7d"},
	{527540, "af36347d0be5e2eeb1ed0e2b308e0c795608dc558c1d4a704ecc5e44994311ae"},
	{3952429, "0a2b604b1f82a4c309a421beaac5d3055dbc11d6b75f627f575fdb873d582549"},
	{581326, "65314911841a2de8bd279c657a2f52676bdb464af123b2de619277d11495509b"},
	{1435370, "d30a8e1d2d343417722fab2d73dd446a495b2cde63f5b57971d778525497a9ef"},
	{2172018, "3db2dc8a20a0f8f09dc99d3de4b7071e8bf99887add80ae9a67707be86c230de"},
	{813868, "3e67bf35246f74ba5b1225aa27d0f5456fea5096160f63b0a879805e176ce5e6"},
}

// goldenPieces pins the Splitter's output for goldenZeroInput.
var goldenPieces = []struct {
	offset, length int64
	zero           bool
}{
	{0, 816674, false},
	{816674, 231902, false},
	{1048576, 196608, true},
	{1245184, 1900708, false},
	{3145892, 65372, false},
	{3211264, 65536, true},
	{3276800, 1618517, false},
	{4895317, 1144648, false},
	{6039965, 1047209, false},
	{7087174, 1753877, false},
	{8841051, 596204, false},
	{9437255, 65465, false},
	{9502720, 4128768, true},
	{13631488, 1398867, false},
	{15030355, 682135, false},
	{15712490, 1325763, false},
	{17038253, 1266959, false},
	{18305212, 1630141, false},
	{19935353, 53127, false},
	{19988480, 983040, true},
}

func TestGoldenChunker(t *testing.T) {
	c, err := New(testParams(t))
	if err != nil {
		t.Fatal(err)
	}
	c.Reset(bytes.NewReader(goldenInput()))
	var buf []byte
	for i := 0; ; i++ {
		d, err := c.Next(buf)
		if err == io.EOF {
			if i != len(goldenChunks) {
				t.Fatalf("%d chunks, want %d", i, len(goldenChunks))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(goldenChunks) {
			t.Fatalf("more than %d chunks", len(goldenChunks))
		}
		sum := sha256.Sum256(d)
		if len(d) != goldenChunks[i].length || hex.EncodeToString(sum[:]) != goldenChunks[i].sha256 {
			t.Fatalf("chunk %d: length %d sha256 %x, want %d %s", i, len(d), sum, goldenChunks[i].length, goldenChunks[i].sha256)
		}
		buf = d
	}
}

func TestGoldenSplitter(t *testing.T) {
	in := goldenZeroInput()
	p := testParams(t)
	got, _ := split(t, bytes.NewReader(in), p, in)
	if len(got) != len(goldenPieces) {
		t.Fatalf("%d pieces, want %d", len(got), len(goldenPieces))
	}
	for i, g := range goldenPieces {
		if got[i].Offset != g.offset || got[i].Length != g.length || got[i].Zero != g.zero {
			t.Fatalf("piece %d = %+v, want %+v", i, got[i], g)
		}
	}
	diffRecs(t, "reference", got, reference(t, in, p))
}
