import ArgumentParser
import Foundation
import LocusData
import LocusEditing
import LocusFigures
import LocusModel
import LocusTracing

/// `locus edit recipe FILE`: the Hase et al. analysis ("analysis": "hase") or Reber's
/// interchange-agreement test ("analysis": "interchange") from a recipe in Recipes/.
///
/// Results go to `<output>/results.jsonl`, one record per fact, rewritten atomically after
/// each fact (temp file + rename); a rerun skips facts already there (resume). The table and
/// figure are written at the end from all records.
struct EditRecipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe",
        abstract: "Run a Hase or interchange analysis recipe (Recipes/*.json), resumable.")
    @Argument(help: "Recipe file.") var file: String
    @Option(help: "Worker threads for BLAS.") var threads: Int = 2

    struct Recipe: Decodable {
        var analysis: String
        var model: String?
        var data: String
        var records: Int
        var offset: Int
        var seed: UInt64
        var layers: [Int]
        var output: String
        var tracing: TracingSettings
        var rome: ROMESettings
        var keyStatistics: KeyStatisticsSample
        var filter: FilterSettings?

        var haseFilter: HaseFilter {
            filter.map { HaseFilter(requireCorrect: $0.requireCorrect, minTrueProbability: $0.minTrueProbability) }
                ?? HaseFilter()
        }
    }
    struct TracingSettings: Decodable {
        var kind: String
        var window: Int
        var samples: Int
        /// ν in units of `noiseBasis`'s std.
        var noise: Double
        /// "subjects" (ROME's collect_embedding_std, default) or "matrix".
        var noiseBasis: String?
        /// "first-token" (default) or "whole-answer" (belief-localization: p of the whole true
        /// object string under every restoration; `TraceAnswerScore`).
        var answerScore: String?
    }
    struct ROMESettings: Decodable {
        var steps: Int
        var contexts: Int
        var contextSeed: UInt64
        /// "total-loss" (ROME, default) or "never" (belief-localization's ROME).
        var earlyStop: String?
        /// "prompt" (ROME, default) or "averaged".
        var updateKey: String?
        /// "sampled" (ROME, default) or "greedy" (`ContextPrefixStyle`).
        var contextPrefixes: String?
    }
    /// Hase's fact filter (`HaseFilter`); absent = the notebook's (correct, p(true) ≥ 0.02).
    struct FilterSettings: Decodable {
        var requireCorrect: Bool
        var minTrueProbability: Double
    }

    /// Whether `path` is a Hase / interchange recipe (it has an "analysis" field), which
    /// `locus run` hands to this command.
    static func isAnalysisRecipe(_ path: String) -> Bool {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["analysis"] is String
    }

    func run() throws {
        let recipe = try JSONDecoder().decode(Recipe.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        var options = try ModelOptions.parse(["--threads", "\(threads)"] + (recipe.model.map { ["--model", $0] } ?? []))
        options.threads = threads
        let lm = try options.load()
        var settings = try EditSettings.parse([])
        settings.steps = recipe.rome.steps
        settings.contexts = recipe.rome.contexts
        settings.contextSeed = recipe.rome.contextSeed
        if let e = recipe.rome.earlyStop {
            guard ROMEEarlyStop(rawValue: e) != nil else { throw ValidationError("rome.earlyStop: total-loss or never") }
            settings.romeEarlyStop = e
        }
        if let p = recipe.rome.contextPrefixes {
            guard ContextPrefixStyle(rawValue: p) != nil else { throw ValidationError("rome.contextPrefixes: sampled or greedy") }
            settings.contextPrefixes = p
        }
        if let k = recipe.rome.updateKey {
            guard ROMEUpdateKey(rawValue: k) != nil else { throw ValidationError("rome.updateKey: prompt or averaged") }
            settings.romeUpdateKey = k
        }
        settings.statsSplit = recipe.keyStatistics.split
        settings.statsChunks = recipe.keyStatistics.chunkCount
        settings.statsChunkTokens = recipe.keyStatistics.chunkTokens
        settings.statsSeed = recipe.keyStatistics.seed
        let session = try EditSession(lm: lm, options: options, settings: settings)
        try session.prepareStatistics(recipe.layers)
        let out = URL(fileURLWithPath: recipe.output)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let results = out.appendingPathComponent("results.jsonl")
        var lines = ((try? String(contentsOf: results, encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
        var done = Set(lines.compactMap { line -> String? in
            guard let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return d["fact"] as? String
        })
        let data = try DataLocation.resolve(searchFrom: [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)])
        let facts = try recipe.analysis == "hase" ? haseFacts(recipe, data) : interchangeFacts(recipe, data, lm)
        let progress = ProgressReporter(label: "\(recipe.analysis) recipe")
        for (i, fact) in facts.enumerated() where !done.contains(fact.id) {
            let record = try recipe.analysis == "hase"
                ? haseRecord(fact, recipe, session) : interchangeRecord(fact, recipe, session)
            lines.append(record.text)
            done.insert(fact.id)
            try (lines.joined(separator: "\n") + "\n").write(to: results, atomically: true, encoding: .utf8)
            progress.update(i + 1, facts.count)
        }
        progress.finish()
        try summarise(recipe, lines: lines, out: out)
    }

    struct Fact {
        var id: String
        var prompt: String
        var subject: String
        var answer: String
        var target: String
        var counterfactual: String?
        var counterfactualSubject: String? = nil
        var record: CounterFactRecord? = nil
    }

    func haseFacts(_ recipe: Recipe, _ data: DataLocation) throws -> [Fact] {
        try CounterFact.load(data.url(recipe.data)).dropFirst(recipe.offset).prefix(recipe.records).map {
            Fact(id: "case-\($0.caseID)", prompt: $0.prompt, subject: $0.subject, answer: $0.groundTruth,
                 target: $0.targetNew, counterfactual: nil, record: $0)
        }
    }

    /// Known facts with an automatic counterfactual (same template, subject at the same token
    /// positions, same prompt length, different first answer token; `Counterfactuals`); the
    /// edit target is the counterfactual's answer. Facts without one are skipped and counted.
    func interchangeFacts(_ recipe: Recipe, _ data: DataLocation, _ lm: LanguageModel) throws -> [Fact] {
        let knowns = try KnownFacts.load(data.url(recipe.data))
        let (pairs, skipped) = Counterfactuals.pairs(
            Array(knowns.dropFirst(recipe.offset)), candidates: knowns, limit: recipe.records,
            tokenizer: lm.tokenizer)
        printError(
            "interchange: \(pairs.count) fact(s) paired; "
                + (Counterfactuals.describe(skipped: skipped) ?? "none skipped"))
        return pairs.map { p in
            Fact(id: "known-\(p.fact.id)", prompt: p.fact.prompt, subject: p.fact.subject,
                 answer: p.fact.attribute, target: p.counterfactual.attribute,
                 counterfactual: p.counterfactual.prompt, counterfactualSubject: p.counterfactual.subject)
        }
    }

    /// One CounterFact record of the Hase et al. analysis: Hase's correctness check (36 greedy
    /// tokens contain the true object), p(true object), the tracing effect per layer (MLP window,
    /// traced token = the true object's first token as Hase's `explain_quantity='label'`, ν from
    /// the subject embeddings, effect floored at 0: `TraceResult.haseLayerEffects`) and, per
    /// layer, a ROME edit's rewrite/paraphrase/neighbourhood scores (`CounterFactOutcome`).
    func haseRecord(_ fact: Fact, _ recipe: Recipe, _ session: EditSession) throws -> JSON {
        let lm = session.lm
        let located = try SubjectTokens(prompt: fact.prompt, subject: fact.subject, tokenizer: lm.tokenizer)
        guard let kind = TraceKind(rawValue: recipe.tracing.kind) else { throw ValidationError("kind") }
        let basis = try NoiseBasis(rawValue: recipe.tracing.noiseBasis ?? "subjects")
            .orThrow(ValidationError("tracing.noiseBasis: subjects or matrix"))
        let answerScore = try TraceAnswerScore(rawValue: recipe.tracing.answerScore ?? "first-token")
            .orThrow(ValidationError("tracing.answerScore: first-token or whole-answer"))
        let (std, noiseRecord) = try noiseUnit(lm, modelSHA256: session.sha, basis: basis)
        let trace = try CausalTracer(model: lm.model).trace(
            TraceRequest(tokens: located.tokens, subject: located.subject,
                         answer: lm.tokenizer.encodeContinuation(" " + fact.answer)[0],
                         continuation: answerContinuation(fact.answer, score: answerScore, tokenizer: lm.tokenizer)),
            corruption: .noise(scale: Float(recipe.tracing.noise) * std, samples: recipe.tracing.samples, seed: recipe.seed),
            configuration: TraceConfiguration(kinds: [kind], layers: recipe.layers, window: recipe.tracing.window))
        let generation = try session.generation(fact.prompt, tokens: 36)
        let record = try fact.record.orThrow(ValidationError("hase facts come from CounterFact"))
        let pTrue = try lm.model.scoreContinuations(
            prompt: lm.tokenizer.encode(fact.prompt), continuations: [lm.tokenizer.encode(" " + fact.answer)])[0].total
        var rewrite: [Double] = [], paraphrase: [Double] = [], neighbourhood: [Double] = []
        var efficacy: [Bool] = []
        let before = try CounterFactMetrics.score(record, languageModel: lm)
        for layer in recipe.layers {
            let (backup, _) = try session.apply(
                EditRequest(prompt: fact.prompt, subject: fact.subject, target: fact.target),
                method: "rome", layer: layer)
            let after = try CounterFactMetrics.score(record, languageModel: lm)
            backup?.restore(into: lm.model)
            let o = CounterFactOutcome(caseID: record.caseID, before: before, after: after)
            rewrite.append(o.rewriteScore)
            paraphrase.append(o.paraphraseScore)
            neighbourhood.append(o.neighbourhoodScore)
            efficacy.append(o.efficacy)
        }
        return .object([
            ("fact", .string(fact.id)), ("prompt", .string(fact.prompt)), ("target", .string(fact.target)),
            ("true_object", .string(fact.answer)),
            ("layers", .array(recipe.layers.map(JSON.int))),
            ("generation", .string(generation)),
            ("correct", .bool(HaseFact.isCorrect(generation: generation, label: fact.answer))),
            ("p_true", .double(Foundation.exp(pTrue))),
            ("tracing_effect", vector(trace.haseLayerEffects(kind) ?? [])),
            ("tracing_effect_unfloored_max", vector(trace.layerEffects(kind) ?? [])),
            ("tracing_effect_last_subject", vector(trace.lastSubjectTokenEffects(kind) ?? [])),
            ("traced_answer_rule", .string("given")),
            ("answer_score", .string(answerScore.rawValue)),
            ("clean_probability", .double(trace.clean.probability)),
            ("corrupt_probability", .double(trace.corrupt.probability)),
            ("noise_unit", noiseRecord), ("noise_scale", .float(Float(recipe.tracing.noise) * std)),
            ("rewrite_score", vector(rewrite)), ("paraphrase_score", vector(paraphrase)),
            ("neighbourhood_score", vector(neighbourhood)), ("efficacy", .array(efficacy.map(JSON.bool))),
            ("seed", .int(Int(recipe.seed))), ("configuration", session.configuration(method: "rome", layers: recipe.layers)),
        ])
    }

    /// Per layer: does ROME (target = counterfactual answer) flip the label at the prompt, and
    /// does patching resid_post / mlp_out at the last subject token from the counterfactual run?
    func interchangeRecord(_ fact: Fact, _ recipe: Recipe, _ session: EditSession) throws -> JSON {
        let lm = session.lm
        let tokens = lm.tokenizer.encodePrompt(fact.prompt)
        let cf = lm.tokenizer.encodePrompt(fact.counterfactual!)
        let located = try SubjectTokens(prompt: fact.prompt, subject: fact.subject, tokenizer: lm.tokenizer)
        let o = lm.tokenizer.encodeContinuation(" " + fact.answer)[0]
        let o2 = lm.tokenizer.encodeContinuation(" " + fact.target)[0]
        let tracer = CausalTracer(model: lm.model)
        let position = located.subject.upperBound - 1
        let post = try tracer.interchangePatch(
            tokens: tokens, counterfactual: cf, position: position, layers: recipe.layers,
            site: .residualPost(layer: 0), answer: o, alternative: o2)
        let mlp = try tracer.interchangePatch(
            tokens: tokens, counterfactual: cf, position: position, layers: recipe.layers,
            site: .mlpOut(layer: 0), answer: o, alternative: o2)
        func diff() throws -> Double {
            let row = try lm.model.forward([tokens], logits: .last).last(sequence: 0)
            return Double(row[o] - row[o2])
        }
        let clean = try diff()
        var edited: [Double] = []
        for layer in recipe.layers {
            let (backup, _) = try session.apply(
                EditRequest(prompt: fact.prompt, subject: fact.subject, target: fact.target),
                method: "rome", layer: layer)
            edited.append(try diff())
            backup?.restore(into: lm.model)
        }
        return .object([
            ("fact", .string(fact.id)), ("prompt", .string(fact.prompt)),
            ("counterfactual", .string(fact.counterfactual!)),
            ("counterfactual_subject", fact.counterfactualSubject.map(JSON.string) ?? .null),
            ("answer", .string(fact.answer)),
            ("alternative", .string(fact.target)), ("layers", .array(recipe.layers.map(JSON.int))),
            ("clean_logit_difference", .double(clean)),
            ("edit_logit_difference", vector(edited)), ("patch_resid_post_logit_difference", vector(post)),
            ("patch_mlp_out_logit_difference", vector(mlp)),
            ("seed", .int(Int(recipe.seed))), ("configuration", session.configuration(method: "rome", layers: recipe.layers)),
        ])
    }

    func summarise(_ recipe: Recipe, lines: [String], out: URL) throws {
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func doubles(_ r: [String: Any], _ k: String) -> [Double] { (r[k] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? [] }
        var table = ""
        if recipe.analysis == "hase" {
            let filter = recipe.haseFilter
            func facts(_ metric: String) -> [HaseFact] {
                records.map { r in
                    HaseFact(
                        id: r["fact"] as? String ?? "", correct: r["correct"] as? Bool ?? false,
                        trueProbability: (r["p_true"] as? NSNumber)?.doubleValue ?? 0,
                        layers: recipe.layers, tracingEffect: doubles(r, "tracing_effect"),
                        editSuccess: doubles(r, metric))
                }
            }
            let rewriteFacts = facts("rewrite_score")
            let admitted = rewriteFacts.filter(filter.admits).count
            let observations = filter.observations(rewriteFacts)
            let a = HaseAnalysis(observations)
            let unfiltered = HaseAnalysis(HaseFilter.none.observations(rewriteFacts))
            let other = ["paraphrase_score", "neighbourhood_score"].map { HaseAnalysis(filter.observations(facts($0))) }
            func f3(_ x: Double) -> String { String(format: "%.3f", x) }
            table = """
                | regression of rewrite score on | R², facts passing Hase's filter | R², all facts (no filter) |
                |---|---|---|
                | layer (factor) | \(f3(a.layerOnly.rSquared)) | \(f3(unfiltered.layerOnly.rSquared)) |
                | tracing effect | \(f3(a.tracingOnly.rSquared)) | \(f3(unfiltered.tracingOnly.rSquared)) |
                | both + interaction | \(f3(a.both.rSquared)) | \(f3(unfiltered.both.rSquared)) |
                | gain of both over layer | \(f3(a.gain)) | \(f3(unfiltered.gain)) |

                Filter (correct: \(filter.requireCorrect), p(true) ≥ \(filter.minTrueProbability)): \(admitted) of \(records.count) facts, \(observations.count) observations; F(\(a.fTest.numeratorDegrees), \(a.fTest.denominatorDegrees)) = \(String(format: "%.3f", a.fTest.statistic)), p = \(String(format: "%.3g", a.fTest.pValue)). Unfiltered: F(\(unfiltered.fTest.numeratorDegrees), \(unfiltered.fTest.denominatorDegrees)) = \(String(format: "%.3f", unfiltered.fTest.statistic)), p = \(String(format: "%.3g", unfiltered.fTest.pValue)). Filtered R² layer / tracing / both: paraphrase \(f3(other[0].layerOnly.rSquared)) / \(f3(other[0].tracingOnly.rSquared)) / \(f3(other[0].both.rSquared)), neighbourhood \(f3(other[1].layerOnly.rSquared)) / \(f3(other[1].tracingOnly.rSquared)) / \(f3(other[1].both.rSquared)).

                """
            printJSON(.object([
                ("analysis", .string("hase")), ("facts", .int(records.count)),
                ("facts_admitted", .int(admitted)), ("observations", .int(observations.count)),
                ("filter_require_correct", .bool(filter.requireCorrect)),
                ("filter_min_p_true", .double(filter.minTrueProbability)),
                ("r2_layer", .double(a.layerOnly.rSquared)), ("r2_tracing", .double(a.tracingOnly.rSquared)),
                ("r2_both", .double(a.both.rSquared)), ("gain", .double(a.gain)),
                ("f", .double(a.fTest.statistic)), ("f_df1", .int(a.fTest.numeratorDegrees)),
                ("f_df2", .int(a.fTest.denominatorDegrees)), ("p", .double(a.fTest.pValue)),
                ("unfiltered_r2_layer", .double(unfiltered.layerOnly.rSquared)),
                ("unfiltered_r2_tracing", .double(unfiltered.tracingOnly.rSquared)),
                ("unfiltered_r2_both", .double(unfiltered.both.rSquared)),
                ("unfiltered_gain", .double(unfiltered.gain)),
                ("paraphrase_r2", .array([other[0].layerOnly, other[0].tracingOnly, other[0].both].map { .double($0.rSquared) })),
                ("neighbourhood_r2", .array([other[1].layerOnly, other[1].tracingOnly, other[1].both].map { .double($0.rSquared) })),
            ]))
            // Median tracing effect: the normalised effect divides by p_clean − p_corrupt, which is
            // tiny for facts the model does not know, so a few facts dominate a mean.
            func median(_ v: [Double]) -> Double {
                let s = v.sorted()
                guard !s.isEmpty else { return .nan }
                return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
            }
            // Drawn over every fact (the filter may leave too few for a curve); the table has both.
            let all = HaseFilter.none.observations(rewriteFacts)
            let at = { (l: Int) in all.filter { $0.layer == l } }
            let medianEffect = recipe.layers.map { median(at($0).map(\.tracingEffect)) }
            let meanScore = recipe.layers.map { l in at(l).map(\.editSuccess).reduce(0, +) / Double(max(1, at(l).count)) }
            let chart = LineChart(
                x: recipe.layers.map(Double.init),
                series: [.init(name: "tracing effect (median)", values: medianEffect, color: "#1b7837"),
                         .init(name: "rewrite score (mean)", values: meanScore, color: "#762a83")],
                title: "Hase tracing effect (MLP window \(recipe.tracing.window)) vs ROME edit success, all \(records.count) facts",
                xLabel: "layer", yLabel: "over facts")
            try chart.svg().write(to: out.appendingPathComponent("hase.svg"), atomically: true, encoding: .utf8)
        } else {
            var outcomes: [(layer: Int, edit: Bool, patch: Bool)] = []
            var outcomesMLP: [(layer: Int, edit: Bool, patch: Bool)] = []
            // A flip needs the clean run to prefer o over o′; other facts are reported, not counted.
            let usable = records.filter { (($0["clean_logit_difference"] as? NSNumber)?.doubleValue ?? 0) > 0 }
            let excluded = records.count - usable.count
            for r in usable {
                let e = doubles(r, "edit_logit_difference"), p = doubles(r, "patch_resid_post_logit_difference")
                let m = doubles(r, "patch_mlp_out_logit_difference")
                for (j, l) in recipe.layers.enumerated() where j < e.count {
                    outcomes.append((l, e[j] < 0, p[j] < 0))
                    outcomesMLP.append((l, e[j] < 0, m[j] < 0))
                }
            }
            let rows = AgreementRow.table(outcomes), rowsMLP = AgreementRow.table(outcomesMLP)
            table = "| layer | facts | ROME flips | resid_post patch flips | agreement | mlp_out patch flips | agreement |\n|---|---|---|---|---|---|---|\n"
            for (r, m) in zip(rows, rowsMLP) {
                table += "| \(r.layer) | \(r.count) | \(r.editFlips) | \(r.patchFlips) | \(String(format: "%.2f", r.agreement)) | \(m.patchFlips) | \(String(format: "%.2f", m.agreement)) |\n"
            }
            table += "\nA flip is a negative logit(o) − logit(o′) at the prompt's last token; \(usable.count) of \(records.count) facts counted (\(excluded) excluded: the unedited model already prefers o′ or ties).\n"
            printJSON(.object([
                ("analysis", .string("interchange")), ("facts", .int(records.count)),
                ("facts_counted", .int(usable.count)),
                ("agreement_resid_post", vector(rows.map(\.agreement))),
                ("agreement_mlp_out", vector(rowsMLP.map(\.agreement))),
                ("layers", .array(rows.map { .int($0.layer) })),
            ]))
            let chart = LineChart(
                x: rows.map { Double($0.layer) },
                series: [
                    .init(name: "agree, resid_post", values: rows.map(\.agreement), color: "#762a83"),
                    .init(name: "agree, mlp_out", values: rowsMLP.map(\.agreement), color: "#1b7837"),
                    .init(name: "ROME flips", values: rows.map { Double($0.editFlips) / Double(max(1, $0.count)) },
                          color: "#444444"),
                    .init(name: "resid_post patch flips",
                          values: rows.map { Double($0.patchFlips) / Double(max(1, $0.count)) }, color: "#c2a5cf"),
                    .init(name: "mlp_out patch flips",
                          values: rowsMLP.map { Double($0.patchFlips) / Double(max(1, $0.count)) }, color: "#a6dba0"),
                ],
                title: "ROME flips vs interchange-patch flips (last subject token), \(usable.count) facts",
                xLabel: "layer", yLabel: "rate over facts", yRange: 0...1)
            try chart.svg().write(to: out.appendingPathComponent("interchange.svg"), atomically: true, encoding: .utf8)
        }
        try table.write(to: out.appendingPathComponent("table.md"), atomically: true, encoding: .utf8)
        printError(table)
    }
}

extension Optional {
    /// The wrapped value, or `error` thrown.
    func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
