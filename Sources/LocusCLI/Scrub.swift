import LocusCore
import ArgumentParser
import Foundation
import LocusData
import LocusExperiments
import LocusInterventions
import LocusModel
import LocusScrubbing
import LocusTensor

/// The data set of an ablation or scrubbing run (`--task` options or a recipe's "task").
struct ScrubTaskOptions: ParsableArguments {
    @Option(help: "induction (repeated random tokens) or truthfulqa (MC log-prob margin).")
    var task: String = "induction"
    @Option(help: "Number of items (sequences or questions).") var count: Int = 24
    @Option(help: "Induction: length n of the repeated block.") var length: Int = 16
    @Option(help: "Seed of the data set (tokens or question sample).") var dataSeed: UInt64 = 1
    @Option(help: "Induction: token id range lo:hi.") var tokenRange: String = "1000:20000"
    @Option(help: "Data folder (default $LOCUS_DATA or ../shared/data).") var data: String?

    var record: JSONValue {
        var fields: [(String, JSONValue)] = [("kind", .string(task)), ("count", .int(count)), ("seed", .int(Int(dataSeed)))]
        if task == "induction" {
            fields += [("length", .int(length)), ("tokenRange", .string(tokenRange))]
        }
        return .object(fields)
    }

    /// The library's task with these options.
    var scrubTask: ScrubTask {
        ScrubTask(task: task, count: count, length: length, dataSeed: dataSeed, tokenRange: tokenRange, data: data)
    }

    func items(_ lm: LanguageModel) throws -> [ScrubItem] { try scrubTask.items(lm) }

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard length >= 1 else { throw ValidationError("--length must be at least 1, got \(length)") }
    }

    /// Fills the options from a recipe's "task" object.
    mutating func apply(_ object: JSONValue) throws {
        if let v = object["kind"]?.string { task = v }
        if let v = object["count"]?.int { count = v }
        if let v = object["length"]?.int { length = v }
        if let v = object["seed"]?.int {
            guard let seed = UInt64(exactly: v) else { throw RunFailure("task.seed must be ≥ 0, got \(v)") }
            dataSeed = seed
        }
        if let v = object["tokenRange"]?.array?.compactMap(\.int), v.count == 2 { tokenRange = "\(v[0]):\(v[1])" }
    }
}

/// `locus scrub HYPOTHESIS` / `locus scrub --recipe FILE`: causal scrubbing (METHODS.md §9).
struct Scrub: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Causal scrubbing of a component-level hypothesis: loss recovered with a bootstrap CI.",
        discussion: """
            HYPOTHESIS is a JSON file: {"components": [{"component": "L5H1" | ["embed", "mlp3"], \
            "feature": "input|nothing|label|column:NAME|token:P"}, {"heads": "top:16:RANKING.json", \
            "feature": "input"}, {"mlps": "all", "feature": "input"}]}. Every component not named is \
            resampled from a random input. Loss recovered = (L_base − L_scrubbed)/(L_base − L_model), \
            L_base = the --baseline hypothesis (default: none, everything resampled). \
            With --recipe, runs a whole worked example (Recipes/scrub-induction.json, \
            Recipes/scrub-truthfulqa.json): optional head finding by ablation, then head-set \
            hypotheses (found:K, top:K:FILE, random:K:SEED, all) on top of the recipe's "baseline" \
            components; their loss recovered is against L_random (every component resampled, \
            Redwood's definition) unless the recipe sets "lossBaseline": "headsOnly" (the kept \
            components on the input, every head resampled).
            """)

    @OptionGroup var options: ModelOptions
    @OptionGroup var taskOptions: ScrubTaskOptions
    @Argument(help: "Hypothesis JSON file.") var hypothesis: String?
    @Option(help: "A recipe JSON file (runs the whole worked example).") var recipe: String?
    @Option(help: "Baseline hypothesis JSON (default: the empty hypothesis).") var baseline: String?
    @Option(help: "Levels of the treeified model built explicitly.") var depth: Int = 1
    @Option(help: "Random inputs per run shared by the unimportant components.") var randomSources: Int = 1
    @Option(help: "Position alignment across lengths: start or end.") var alignment: String = "start"
    @Option(help: "Seed of the scrubbing draws.") var seed: UInt64 = 0
    @Option(help: "Scrub draws per item.") var draws: Int = 1
    @Option(help: "Bootstrap resamples.") var bootstrap: Int = 1000
    @Option(help: "Tokens per forward call.") var tokensPerCall: Int = 1024
    @Option(help: "Also write the JSON record here.") var output: String?
    @Flag(help: "Print the JSON record instead of the table.") var json = false

    func validate() throws {
        guard (hypothesis == nil) != (recipe == nil) else {
            throw ValidationError("give a HYPOTHESIS file or --recipe FILE (one of them)")
        }
        guard PositionAlignment(rawValue: alignment) != nil else { throw ValidationError("--alignment start|end") }
        guard depth >= 1 else { throw ValidationError("--depth must be at least 1, got \(depth)") }
        guard draws >= 1 else { throw ValidationError("--draws must be at least 1, got \(draws)") }
        guard randomSources >= 1 else { throw ValidationError("--random-sources must be at least 1, got \(randomSources)") }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1, got \(bootstrap)") }
        guard tokensPerCall >= 1 else { throw ValidationError("--tokens-per-call must be at least 1") }
    }

    func run() throws {
        let lm = try options.load()
        var task = taskOptions
        var settings = ScrubSettings()
        settings.depth = depth
        settings.randomSources = randomSources
        settings.alignment = PositionAlignment(rawValue: alignment)!
        settings.seed = seed
        settings.draws = draws
        settings.tokensPerCall = tokensPerCall
        var bootstrapResamples = bootstrap
        var root = JSONValue.emptyObject
        if let recipe {
            guard let text = try? String(contentsOfFile: recipe, encoding: .utf8) else {
                throw ValidationError("cannot read recipe \(recipe)")
            }
            do { root = try JSONValue.parse(text, file: recipe) } catch { throw ValidationError("\(error)") }
            guard root.fields != nil else { throw ValidationError("cannot read recipe \(recipe) as a JSON object") }
            if let t = root["task"], t.fields != nil { try task.apply(t) }
            if let s = root["scrub"], s.fields != nil {
                if let v = s["depth"]?.int { settings.depth = v }
                if let v = s["randomSources"]?.int { settings.randomSources = v }
                if let v = s["alignment"]?.string, let a = PositionAlignment(rawValue: v) { settings.alignment = a }
                if let v = s["seed"]?.int {
                    guard let seed = UInt64(exactly: v) else { throw RunFailure("\(recipe): scrub.seed must be ≥ 0") }
                    settings.seed = seed
                }
                if let v = s["draws"]?.int { settings.draws = v }
                if let v = s["tokensPerCall"]?.int { settings.tokensPerCall = v }
                if let v = s["bootstrap"]?.int { bootstrapResamples = v }
            }
        }
        guard task.count >= 1, task.length >= 1, settings.depth >= 1, settings.randomSources >= 1,
            settings.draws >= 1, settings.tokensPerCall >= 1, bootstrapResamples >= 1
        else {
            throw RunFailure(
                "\(recipe ?? "options"): task count and length, depth, randomSources, draws, tokensPerCall "
                    + "and bootstrap must each be at least 1")
        }
        let sha = try SHA256.hex(ofCheckpoint: lm.url)
        let items = try task.items(lm)
        let config = lm.config
        printError("scrub: \(items.count) items, depth \(settings.depth), seed \(settings.seed)")

        var record: [(String, JSONValue)] = [
            ("command", .string("scrub")), ("modelSHA256", .string(sha)), ("task", task.record),
            ("settings", .object([
                ("depth", .int(settings.depth)), ("randomSources", .int(settings.randomSources)),
                ("alignment", .string(settings.alignment.rawValue)), ("seed", .int(Int(settings.seed))),
                ("draws", .int(settings.draws)), ("bootstrap", .int(bootstrapResamples)),
            ])),
        ]
        if let recipe { record.append(("recipe", .string(recipe))) }

        // Baseline and hypotheses.
        var baseEntries: [JSONValue] = []
        if let entries = root["baseline"]?.array, entries.allSatisfy({ $0.fields != nil }) {
            baseEntries = entries
        } else if let baseline {
            guard let text = try? String(contentsOfFile: baseline, encoding: .utf8),
                let object = try? JSONValue.parse(text, file: baseline),
                let entries = object["components"]?.array, entries.allSatisfy({ $0.fields != nil })
            else { throw ValidationError("\(baseline): expected a hypothesis with a 'components' array") }
            baseEntries = entries
        }
        // A recipe's "baseline" entries are kept in every head-set hypothesis; loss recovered is
        // normalised against L_random unless the recipe says "lossBaseline": "headsOnly" (issue 11).
        // An explicit --baseline FILE is both what is kept and the zero (labelled as such).
        var baselineKind: ScrubBaseline = baseline != nil ? .headsOnly : .random
        if let name = root["lossBaseline"]?.string {
            guard let kind = ScrubBaseline(rawValue: name) else {
                throw ValidationError("\(recipe ?? ""): lossBaseline must be random or headsOnly")
            }
            baselineKind = kind
        }
        let study = try HeadSetScrubbing(
            model: lm.model, items: items, settings: settings, keptEntries: baseEntries,
            baseline: baselineKind)
        record.append(("lossBaseline", .string(baselineKind.label)))
        let baseHypothesis = study.baseline
        var hypotheses: [Hypothesis] = []
        if let hypothesis { hypotheses.append(try Hypothesis.load(URL(fileURLWithPath: hypothesis), config: config)) }

        // Optional head finding by per-head ablation (recipe "find").
        var found: [AttentionHead] = []
        if let find = root["find"], find.fields != nil {
            let kind = AblationKind(rawValue: find["ablation"]?.string ?? "resample") ?? .resample
            var scan = AblationScan(model: lm.model, items: items)
            scan.seed = UInt64(find["seed"]?.int ?? 0)
            scan.alignment = settings.alignment
            scan.tokensPerCall = settings.tokensPerCall
            let heads = AttentionHead.all(in: config)
            var means: [ActivationSite: [Float]] = [:]
            if kind == .mean {
                for l in 0..<config.layerCount {
                    let site = ActivationSite.headOutput(layer: l)
                    means[site] = try MeanActivations.cached(
                        model: lm.model, modelSHA256: sha, site: site, inputs: items.flatMap(\.sequences),
                        directory: URL(fileURLWithPath: "runs/cache/means")).mean
                }
            }
            let bar = ProgressReporter(label: "ablate heads", unit: "runs")
            let table = try scan.scores(
                groups: [[]] + heads.map { [ComponentSlice.head($0, config: config)] }, kind: kind, means: means,
                progress: { bar.update($0, $1) })
            bar.finish()
            let clean = Bootstrap.mean(table[0])
            // Effect = how much worse the metric gets: loss up for loss items, margin down otherwise.
            let sign: Double = items.allSatisfy(\.isLoss) ? 1 : -1
            let effects = heads.indices.map { sign * (Bootstrap.mean(table[$0 + 1]) - clean) }
            let order = heads.indices.sorted { effects[$0] > effects[$1] }
            let top = find["top"]?.int ?? 10
            found = order.prefix(top).map { heads[$0] }
            record.append(("find", .object([
                ("ablation", .string(kind.rawValue)), ("seed", .int(Int(scan.seed))), ("cleanMetric", .double(clean)),
                ("heads", .array(order.prefix(max(top, 20)).map { i -> JSONValue in
                    .object([("head", .string(heads[i].description)), ("effect", .double(effects[i]))])
                })),
            ])))
            printError("head ablation (\(kind.rawValue)), metric increase of the top heads:")
            for i in order.prefix(max(top, 10)) {
                printError(String(format: "  %-7@ %+.4f", heads[i].description as NSString, effects[i]))
            }
        }
        for set in root["headSets"]?.array?.compactMap(\.string) ?? [] {
            let heads: [AttentionHead]
            if set.hasPrefix("found:"), let k = Int(set.dropFirst(6)) {
                heads = Array(found.prefix(k))
            } else {
                heads = try HeadSetSelection(parsing: set).resolve(in: config)
            }
            hypotheses.append(try study.hypothesis(named: set, heads: heads))
        }
        for file in root["hypotheses"]?.array?.compactMap(\.string) ?? [] {
            hypotheses.append(try Hypothesis.load(URL(fileURLWithPath: file), config: config))
        }

        func bar(_ label: String) -> ProgressReporter { ProgressReporter(label: label, unit: "runs") }
        func tracked<T>(_ label: String, _ body: (@escaping (Int, Int) -> Void) throws -> T) rethrows -> T {
            let b = bar(label)
            defer { b.finish() }
            return try body { b.update($0, $1) }
        }
        let model = try tracked("model") { try study.modelScores(progress: $0) }
        let base = try tracked(baseHypothesis.name) { try study.baselineScores(progress: $0) }
        var results: [JSONValue] = []
        var rows: [String] = [
            String(format: "%-28@ %10@ %10@ %22@", "hypothesis" as NSString, "metric" as NSString,
                   "recovered" as NSString, "95% CI" as NSString),
            String(format: "%-28@ %10.4f", "model" as NSString, Bootstrap.mean(model)),
            String(format: "%-28@ %10.4f %10.4f", ("baseline (\(baseHypothesis.name))") as NSString, Bootstrap.mean(base), 0.0),
        ]
        for h in hypotheses {
            let r = try tracked(h.name) { try study.evaluate(h, bootstrapResamples: bootstrapResamples, progress: $0) }
            results.append(.object([
                ("name", .string(h.name)), ("components", .int(h.important.count)),
                ("heads", .array(h.order.compactMap { if case .head(let x) = $0 { return .string(x.description) } else { return nil } })),
                ("features", .object(h.summary.filter { !$0.0.hasPrefix("L") }.map { ($0.0, .string($0.1)) })),
                ("scrubbedMetric", .double(r.scrubbedMetric)), ("lossRecovered", .double(r.lossRecovered)),
                ("ci95", .array([.double(r.ci95.low), .double(r.ci95.high)])),
            ]))
            rows.append(String(format: "%-28@ %10.4f %10.4f   [%7.4f, %7.4f]", h.name as NSString, r.scrubbedMetric, r.lossRecovered, r.ci95.low, r.ci95.high))
        }
        record += [
            ("metric", .string(study.metricName)),
            ("modelMetric", .double(Bootstrap.mean(model))),
            ("baseline", .object([("name", .string(baseHypothesis.name)), ("metric", .double(Bootstrap.mean(base)))])),
            ("bootstrapSeed", .int(Int(study.bootstrapSeed))),
            ("hypotheses", .array(results)),
        ]
        let out = JSONValue.object(record)
        if let output {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(out.text + "\n", to: URL(fileURLWithPath: output))
        }
        if json { printJSON(out) } else { print(rows.joined(separator: "\n")) }
    }
}
