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

// goldenChunk is the length and SHA-256 of one chunk.
type goldenChunk struct {
	length int
	sha256 string
}

// goldenPiece is the position of one Splitter piece.
type goldenPiece struct {
	offset, length int64
	zero           bool
}

// goldenParamsFor returns the sizes the golden boundaries were recorded with
// (512 KiB / 8 MiB / 2^20: the defaults of repositories created before the
// defaults were halved, which keep them in their config) and the fixed test
// secrets (testPol, testKey).
func goldenParamsFor(t testing.TB, algo string) Params {
	p := testParamsFor(t, algo)
	p.MinSize, p.MaxSize, p.AverageBits = 512<<10, 8<<20, 20
	return p
}

// goldenChunks pins every chunk of goldenInput under goldenParamsFor, per algorithm, like
// restic/chunker's own tests: a library upgrade or a change of Params
// handling that moves boundaries must fail here, since it would break
// deduplication against existing repositories.
var goldenChunks = map[string][]goldenChunk{
	AlgorithmRabin:   goldenChunksRabin,
	AlgorithmFastCDC: goldenChunksFastCDC,
}

// goldenPieces pins the Splitter's output for goldenZeroInput, per algorithm.
var goldenPieces = map[string][]goldenPiece{
	AlgorithmRabin:   goldenPiecesRabin,
	AlgorithmFastCDC: goldenPiecesFastCDC,
}

var goldenChunksRabin = []goldenChunk{
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

var goldenPiecesRabin = []goldenPiece{
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

// goldenChunksFastCDC is keyed by testKey; the gear table derivation and the
// masks come from go-cdc-chunkers "fastcdc-v1.0.0".
var goldenChunksFastCDC = []goldenChunk{
	{1417433, "d73a94290f1b900b25905c363f4b223950f27c060fcd885974457614dfe83ab1"},
	{1108626, "798b5a94ed3ab0710cdd8ae4f4cc870264480c54f3b380f23c2ed0f27892ecac"},
	{1760604, "932308d2449052ed1832cfe95ab0f2953b46a7fa9b9c1ff0dead8148ffa2f73c"},
	{1146081, "742a4f19a6d2ee1a3efd96982a1ab97d6b256a65e05297f58835d205ba4a1b7f"},
	{1539207, "de30edea94f877ea9bc28d5641431a780a88f07200ac9fface1a3bacec8e3f7a"},
	{797561, "ffa0ecf2d801d0ac76357e186c4078444e31f600380ad71f27b3c4e274130f5d"},
	{2303250, "5937f820961c3a42d6e2e1c72cb61460d20fa914112f85e2a8eea6928c5b167f"},
	{1113210, "bbd535dcbf7bfccb899f3ae995e665cde5e8557dd8bc0bf88b5d2daf589fc0ff"},
	{1106920, "b45bedb971df556cfd5c5f8549496b7dbfc6f0f2297ca96888f1ab787f2eac5c"},
	{527051, "74f2034bb06549d2740dcf8b0649ab362f9ee262104f1439ee26f773d3bbada2"},
	{796531, "562ae3c51d6cc6b6fe837840aeb545763e93528f60d7030d06bf6d1969d60292"},
	{1254961, "2d9e093ee2b03352ec0623a367553975a086bb8e6604a954a855c085ee3e43b4"},
	{1450885, "9f5f4385863c2a418acfe5989ad9f72e1db124ed4fe4edef77a14826c9ef5c8c"},
	{1330843, "fd4c3eb1daca1386891e89fbd571d6eca7e4fac5c1bfe886d74b405466984104"},
	{1324684, "7bcc13ed412c4b81df92ea6baaa783aaf0178f5f67e051273b60914f620ddf49"},
	{1050237, "2a1643df7948ede2f3aa43708766cff13d57bdfc702d83d8c183796e0bedd493"},
	{653038, "e9c50478f840fc64f6a55e2099926239b9565c1eb8662255d3f9c2ab542efb10"},
	{1178670, "db145efe091149bf84b85d04045b1d3235af33b47ac744d6d427dc212f831fa9"},
	{822195, "ecc5040818f24e12451936d2879f48608826352f463a0a63d91179beb6e653a9"},
	{1077136, "409dcf35ac6abfa573b1f9b7b83239b112125caa7c9441cd4dadde959d0ae00f"},
	{1088764, "0fc9669019ee9ad0bfd3936ed9837a566ccfaa72e70572cf2aa91c9ce59b006d"},
	{1818990, "060d879a534ffe8105caf53b83be317592063752f4a1d6018af2fa8a708ad320"},
	{1278596, "4eb5996ff227d21be675e2bfc12aa673152f4ffe38f5020af8168e0ccba66a39"},
	{1432383, "adb1ac722aa5d11169dccd7bac56a02d235cf6f77b07382fe0fd4438c24720ba"},
	{1525290, "d9dda6764514ba52e4fe83e7b4fdcefea8172bd6230e5f5dd65e924626917b0c"},
	{1413796, "5a54c5c1ee982cb484727482f15fc77a1e00d179554a6db9ba47cc9c849b4c1b"},
	{1151982, "1ac6027070467caefd8c85adff7a33ca8fc1ef889db0cc7efb08ba67ab1f7320"},
	{85508, "0f2765aeb1cad4d824967ba4fbf4b405c27d92cdb1025dbd47db2d78100a9322"},
}

var goldenPiecesFastCDC = []goldenPiece{
	{0, 1048576, false},
	{1048576, 196608, true},
	{1245184, 1280875, false},
	{2526059, 685205, false},
	{3211264, 65536, true},
	{3276800, 1057813, false},
	{4334613, 1098131, false},
	{5432744, 1539207, false},
	{6971951, 797561, false},
	{7769512, 1733208, false},
	{9502720, 4128768, true},
	{13631488, 1239947, false},
	{14871435, 1450885, false},
	{16322320, 1330843, false},
	{17653163, 1324684, false},
	{18977847, 1010633, false},
	{19988480, 983040, true},
}

func TestGoldenChunker(t *testing.T) {
	in := goldenInput()
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			want := goldenChunks[algo]
			c, err := New(goldenParamsFor(t, algo))
			if err != nil {
				t.Fatal(err)
			}
			c.Reset(bytes.NewReader(in))
			var buf []byte
			for i := 0; ; i++ {
				d, err := c.Next(buf)
				if err == io.EOF {
					if i != len(want) {
						t.Fatalf("%d chunks, want %d", i, len(want))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if i >= len(want) {
					t.Fatalf("more than %d chunks", len(want))
				}
				sum := sha256.Sum256(d)
				if len(d) != want[i].length || hex.EncodeToString(sum[:]) != want[i].sha256 {
					t.Fatalf("chunk %d: length %d sha256 %x, want %d %s", i, len(d), sum, want[i].length, want[i].sha256)
				}
				buf = d
			}
		})
	}
}

func TestGoldenSplitter(t *testing.T) {
	in := goldenZeroInput()
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			want := goldenPieces[algo]
			p := goldenParamsFor(t, algo)
			got, _ := split(t, bytes.NewReader(in), p, in)
			if len(got) != len(want) {
				t.Fatalf("%d pieces, want %d", len(got), len(want))
			}
			for i, g := range want {
				if got[i].Offset != g.offset || got[i].Length != g.length || got[i].Zero != g.zero {
					t.Fatalf("piece %d = %+v, want %+v", i, got[i], g)
				}
			}
			diffRecs(t, "reference", got, reference(t, in, p))
		})
	}
}
