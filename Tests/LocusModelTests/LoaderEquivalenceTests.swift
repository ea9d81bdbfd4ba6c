import Foundation
import LocusCheckpoint
@testable import LocusModel
import LocusTensor
import LocusWeights
import XCTest

/// The fp32 loader reads every tensor straight into the buffer that keeps it and releases the
/// mapped file's pages behind it (no second resident copy). Its twin is the previous loader's
/// recipe, written out here: the whole tensor as a `[Float]` from the checkpoint, GPT-2's Conv1D
/// transposed element by element, half-split Q/K rows permuted by
/// `ModelWeights.permuteForAdjacentRoPE`. Every matrix of every family must be bit-identical.
final class LoaderEquivalenceTests: XCTestCase {
    func folder(_ family: String) -> URL {
        TestSupport.fixtures.appendingPathComponent("families/\(family)", isDirectory: true)
    }

    /// `name` as the previous loader built it: (rows, columns) fp32, transposed from (in, out)
    /// when the family stores Conv1D, Q/K rows permuted for `heads` heads.
    func twin(
        _ source: TensorSource, _ names: TensorNames, _ config: ModelConfig, _ name: String,
        rows: Int, columns: Int, heads: Int = 0
    ) throws -> [Float] {
        let stored = try source.floats(named: name)
        var values = stored
        if names.transposedMatrices {
            for i in 0..<columns {
                for o in 0..<rows { values[o * columns + i] = stored[i * rows + o] }
            }
        }
        let arch = config.architecture
        let rotary = arch.positions == .rotary ? (arch.rotaryWidth ?? config.headWidth) : 0
        if names.rotaryLayout == .halfSplit, rotary > 0, heads > 0 {
            values = ModelWeights.permuteForAdjacentRoPE(
                values, heads: heads, headWidth: config.headWidth, columns: columns, rotaryWidth: rotary)
        }
        return values
    }

    func testFloat32LoaderEqualsPreviousRecipe() throws {
        for family in FamilyParityTests.families {
            let model = try DecoderModel.load(from: folder(family), weights: .f32)
            let source = try openCheckpoint(folder(family))
            let config = model.config
            let names = FamilyRegistry.definition(config.family).huggingFaceNames(config, tensors: source)
            let c = config.hiddenSize, f = config.intermediateSize
            let q = config.attentionWidth, kv = config.keyValueWidth
            var compared = 0
            func check(_ got: WeightMatrix, _ expected: [Float], _ label: String) {
                XCTAssertEqual(got.type, .f32, "\(family) \(label) dense")
                XCTAssertEqual(got.materializeFloat32().array(), expected, "\(family) \(label)")
                compared += 1
            }
            for (l, layer) in model.weights.layers.enumerated() {
                let name = { (t: TensorNames.LayerTensor) in names.layer(l, t)! }
                if names.layer(l, .queryKeyValue) != nil {
                    check(layer.qkvMatrix, try twin(source, names, config, name(.queryKeyValue), rows: q + 2 * kv, columns: c), "qkv \(l)")
                } else {
                    let expected = try twin(source, names, config, name(.query), rows: q, columns: c, heads: config.headCount)
                        + twin(source, names, config, name(.key), rows: kv, columns: c, heads: config.keyValueHeadCount)
                        + twin(source, names, config, name(.value), rows: kv, columns: c)
                    check(layer.qkvMatrix, expected, "qkv \(l)")
                }
                check(layer.outputMatrix, try twin(source, names, config, name(.output), rows: c, columns: q), "output \(l)")
                let up = try twin(source, names, config, name(.up), rows: f, columns: c)
                let gateUp = config.architecture.mlp.isGated
                    ? try twin(source, names, config, name(.gate), rows: f, columns: c) + up : up
                check(layer.gateUpMatrix, gateUp, "gate/up \(l)")
                check(layer.downMatrix, try twin(source, names, config, name(.down), rows: c, columns: f), "down \(l)")
            }
            XCTAssertEqual(
                model.weights.embeddingMatrix.materializeFloat32().array(), try source.floats(named: names.embedding),
                "\(family) embedding")
            if let table = model.weights.positionEmbedding, let name = names.positionEmbedding {
                XCTAssertEqual(table.array(), try source.floats(named: name), "\(family) positions")
            }
            XCTAssertEqual(compared, 4 * config.layerCount, family)
        }
    }

    /// `parameterCount` is every tensor of the checkpoint (a tied head once), and the resident
    /// size of `--weights stored` counts F16 matrices at 2 bytes an element and vectors at 4
    /// (`locus inspect` prints both).
    func testParameterCountAndResidentBytesFollowTheCheckpoint() throws {
        for family in FamilyParityTests.families {
            let source = try openCheckpoint(folder(family))
            let stored = try DecoderModel.load(from: folder(family), weights: .stored)
            var parameters = 0, bytes = 0
            for name in source.tensorNames {
                if name == "lm_head.weight", stored.config.tiedEmbeddings { continue }
                let shape = try XCTUnwrap(source.shape(of: name))
                let count = shape.reduce(1, *)
                parameters += count
                let sixteenBit = (source as? SafetensorsFile)?.tensorInfo(named: name)?.dtype == "F16"
                bytes += shape.count == 2 && sixteenBit && !name.hasSuffix("wpe.weight") ? 2 * count : 4 * count
            }
            XCTAssertEqual(stored.weights.parameterCount, parameters, family)
            XCTAssertEqual(stored.weights.residentBytes, bytes, family)
            let dense = try DecoderModel.load(from: folder(family), weights: .f32)
            XCTAssertEqual(dense.weights.residentBytes, 4 * parameters, family)
        }
    }

    /// Released pages are read back from the file: a tensor read, released and read again is
    /// unchanged, and so is a stored slice of the same mapping taken before the release.
    func testReleasedPagesReadBackUnchanged() throws {
        for file in ["gpt2/model.safetensors", "qwen2/qwen2-f16.gguf"] {
            let url = TestSupport.fixtures.appendingPathComponent("families/\(file)")
            let source = try XCTUnwrap(try openCheckpoint(url) as? StoredTensorSource)
            for name in source.tensorNames {
                let (_, slice) = try source.storedTensor(named: name)
                let before = try source.floats(named: name)
                let bytes = Data(slice)
                source.releasePages(of: name)
                XCTAssertEqual(try source.floats(named: name), before, "\(file) \(name)")
                XCTAssertEqual(Data(slice), bytes, "\(file) \(name) stored slice")
            }
        }
    }
}
