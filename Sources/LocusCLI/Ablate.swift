import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusData
import LocusInterventions
import LocusModel
import LocusScrubbing

/// `locus ablate`: zero, mean or resample ablation of components (each group alone), batched.
struct Ablate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ablate components one group at a time and report the metric change.",
        discussion: """
            --components: 'heads' (every head alone), 'mlps' (every MLP alone), or groups separated \
            by ';' of components separated by ',' (L5H1,mlp3;embed). Mean ablation uses the mean \
            activation over the task's inputs, cached in --cache-directory keyed by model sha256, \
            site, data and sample size. Resample ablation reads another item (seeded) with \
            positions aligned by --alignment.
            """)

    @OptionGroup var options: ModelOptions
    @OptionGroup var taskOptions: ScrubTaskOptions
    @Option(help: "zero, mean or resample.") var kind: String = "resample"
    @Option(help: "heads, mlps, or groups 'L5H1,mlp3;embed'.") var components: String = "heads"
    @Option(help: "Seed of the resampling sources.") var seed: UInt64 = 0
    @Option(help: "Position alignment across lengths: start or end.") var alignment: String = "start"
    @Option(help: "Rows to print.") var top: Int = 20
    @Option(help: "Tokens per forward call.") var tokensPerCall: Int = 1024
    @Option(help: "Mean-activation cache folder.") var cacheDirectory = "runs/cache/means"
    @Option(help: "Also write the JSON record here.") var output: String?
    @Flag(help: "Print the JSON record instead of the table.") var json = false

    func validate() throws {
        guard AblationKind(rawValue: kind) != nil else { throw ValidationError("--kind zero|mean|resample") }
        guard PositionAlignment(rawValue: alignment) != nil else { throw ValidationError("--alignment start|end") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard tokensPerCall >= 1 else { throw ValidationError("--tokens-per-call must be at least 1") }
    }

    func run() throws {
        let lm = try options.load()
        let config = lm.config
        let sha = try SHA256.hex(ofCheckpoint: lm.url)
        let items = try taskOptions.items(lm)
        let groups: [(String, [Component])]
        switch components {
        case "heads": groups = AttentionHead.all(in: config).map { ($0.description, [.head($0)]) }
        case "mlps": groups = (0..<config.layerCount).map { ("mlp\($0)", [.mlp($0)]) }
        default:
            groups = try components.split(separator: ";").map { g in
                (String(g), try g.split(separator: ",").map { text in
                    let c = try Component(parsing: String(text))
                    do { try c.check(config: config) } catch { throw RunFailure("--components: \(error)") }
                    return c
                })
            }
        }
        let ablation = AblationKind(rawValue: kind)!
        var means: [ActivationSite: [Float]] = [:]
        if ablation == .mean {
            for site in Set(groups.flatMap { $0.1.map { $0.slice(config: config).site } }) {
                let m = try MeanActivations.cached(
                    model: lm.model, modelSHA256: sha, site: site, inputs: items.flatMap(\.sequences),
                    directory: URL(fileURLWithPath: cacheDirectory))
                printError("mean of \(site): \(m.fromCache ? "cached" : "computed") (\(m.key.prefix(12)))")
                means[site] = m.mean
            }
        }
        var scan = AblationScan(model: lm.model, items: items)
        scan.seed = seed
        scan.alignment = PositionAlignment(rawValue: alignment)!
        scan.tokensPerCall = tokensPerCall
        let bar = ProgressReporter(label: "ablate", unit: "runs")
        let table = try scan.scores(
            groups: [[]] + groups.map { $0.1.map { $0.slice(config: config) } }, kind: ablation, means: means,
            progress: { bar.update($0, $1) })
        bar.finish()
        let clean = Bootstrap.mean(table[0])
        let sign: Double = items.allSatisfy(\.isLoss) ? 1 : -1
        let effects = groups.indices.map { sign * (Bootstrap.mean(table[$0 + 1]) - clean) }
        let order = groups.indices.sorted { effects[$0] > effects[$1] }
        let rows: [JSONValue] = order.map { i in
            let ci = Bootstrap.meanInterval(zip(table[i + 1], table[0]).map { sign * ($0 - $1) }, seed: seed &+ 1)
            return .object([
                ("components", .string(groups[i].0)), ("metric", .double(Bootstrap.mean(table[i + 1]))),
                ("effect", .double(effects[i])), ("ci95", .array([.double(ci.low), .double(ci.high)])),
            ])
        }
        let out = JSONValue.object([
            ("command", .string("ablate")), ("modelSHA256", .string(sha)), ("task", taskOptions.record),
            ("kind", .string(kind)), ("seed", .int(Int(seed))), ("alignment", .string(alignment)),
            ("metric", .string(items.allSatisfy(\.isLoss) ? "mean loss (nats)" : "log-prob margin true − false")),
            ("cleanMetric", .double(clean)), ("results", .array(rows)),
        ])
        if let output { try AtomicFile.write(out.text + "\n", to: URL(fileURLWithPath: output)) }
        if json {
            printJSON(out)
        } else {
            print(String(format: "clean metric %.4f; effect = metric change toward worse (%@ ablation)", clean, kind as NSString))
            for i in order.prefix(top) {
                print(String(format: "%-24@ %10.4f %+10.4f", groups[i].0 as NSString, Bootstrap.mean(table[i + 1]), effects[i]))
            }
        }
    }
}
