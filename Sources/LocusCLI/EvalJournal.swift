import ArgumentParser
import Foundation
import LocusCore
import LocusData
import LocusEvaluation
import LocusModel
import LocusRecipes

/// `locus eval truthfulqa --journal FILE [--shard i/n]` and `--merge FILE…`: a resumable,
/// shardable evaluation. Per-question MC scores and generations are appended to the journal as
/// each unit of questions finishes (`EvaluationJournal`, `EvaluationPlan`); a rerun with the
/// same file skips finished units, and the record is always computed from the journal's lines,
/// so an interrupted and resumed run prints the numbers of an uninterrupted one.
///
/// "Journal", not "checkpoint": in Locus a checkpoint is a model file (`SHA256.hex(ofCheckpoint:)`,
/// `--truth-judge` checkpoints), and this file is an append-only log of results.
extension EvalTruthfulQA {
    /// What the journaled path hands back to `run()`: the groups restricted to this shard's
    /// questions, and their results read from the journal(s).
    struct JournaledResults {
        var groups: [Group]
        var mcRuns: [MultipleChoiceRun?]
        var generations: [([GeneratedAnswer], GenerationSummary)?]
        var configuration: [(String, JSONValue)]
    }

    var shardValue: Shard { shard.flatMap(Shard.init(parsing:)) ?? .whole }

    /// The fields every journal of this evaluation must share (everything that changes a
    /// question's numbers or which questions are evaluated), without the plan and shard fields.
    func baseFingerprint(
        lm: LanguageModel, modelSHA: String, location: DataLocation, groups: [Group]
    ) throws -> [EvaluationJournalHeader.Field] {
        typealias F = EvaluationJournalHeader.Field
        func sha(_ path: String) throws -> String { try SHA256.hex(ofFile: URL(fileURLWithPath: path)) }
        var fields: [F] = [
            F("model_sha256", modelSHA),
            F("weights", options.weights.rawValue),
            F("activation_quantization", options.activationQuantization.rawValue),
            F("truthfulqa_csv_sha256", try sha(location.truthfulQACSV.path)),
            F("mc_task_sha256", try sha(location.truthfulQAMultipleChoice.path)),
            F("mc", "\(mc)"), F("generation", "\(generation)"),
            F("max_new_tokens", generation ? "\(maxNewTokens)" : "-"),
            F("answers_per_batch", "\(answersPerBatch)"), F("questions_per_batch", "\(questionsPerBatch)"),
            F("generation_batch", "\(generationBatch)"),
            F("probe_sha256", try probe.map(sha) ?? "-"), F("heads", heads.rawValue), F("k", heads == .none ? "-" : "\(k)"),
            F("alpha", heads == .none ? "-" : "\(alpha)"), F("direction", heads == .none ? "-" : direction),
            F("seed", heads == .none ? "-" : "\(seed)"), F("fold", fold), F("question_set", questions.rawValue),
            F("baked", "\(baked)"), F("limit", "\(limit)"),
            F("steering_sha256", try steering.map(sha) ?? "-"),
            F("steering_record_sha256", try steering.map { try sha(SteeringLoading.recordURL(of: URL(fileURLWithPath: $0)).path) } ?? "-"),
            F("steering_scale", steering == nil ? "-" : "\(steeringScale)"),
        ]
        let groupText = groups.map { "\($0.name):\($0.questionIDs.map(String.init).joined(separator: ","))" }.joined(separator: ";")
        fields.append(F("questions_sha256", SHA256.hex(Data(groupText.utf8))))
        return fields
    }

    /// The plan's fields: unit size, shard and the sha256 of this shard's units.
    func planFingerprint(_ plan: EvaluationPlan, units: [Int], shard: Shard) -> [EvaluationJournalHeader.Field] {
        let text = units.map { u in
            "\(plan.units[u].group):\(plan.units[u].questionIDs.map(String.init).joined(separator: ","))"
        }.joined(separator: ";")
        return [
            .init("unit_size", "\(plan.unitSize)"), .init("shard", shard.description),
            .init("units_sha256", SHA256.hex(Data(text.utf8))),
        ]
    }

    /// Runs this shard's unfinished units, appending each to the journal, and returns the
    /// shard's results as read from the journal.
    func runJournaled(
        groups: [Group], lm: LanguageModel, tqa: TruthfulQA, modelSHA: String, location: DataLocation
    ) throws -> JournaledResults {
        let shard = shardValue
        let url = URL(fileURLWithPath: journal!)
        let base = try baseFingerprint(lm: lm, modelSHA: modelSHA, location: location, groups: groups)
        // An existing journal of other settings is refused before any model work (on a 7B
        // model the evaluators' prefix alone takes a CPU-minute).
        let planFields: Set<String> = ["unit_size", "shard", "units_sha256"]
        if FileManager.default.fileExists(atPath: url.path), let existing = try? EvaluationJournal.read(url) {
            try EvaluationJournalHeader(fingerprint: base + [.init("shard", shard.description)], modelFile: "", arguments: [])
                .check(existing.header, file: url.path, ignoring: planFields.subtracting(["shard"]))
        }
        let all = groups.flatMap { tqa.questions(ids: $0.questionIDs) }
        let mcEvaluator = mc
            ? try MultipleChoiceEvaluator(model: lm, answersPerBatch: answersPerBatch, questionsPerBatch: questionsPerBatch)
            : nil
        let generationEvaluator = generation
            ? try GenerationEvaluator(model: lm, maxNewTokens: maxNewTokens, batchSize: generationBatch) : nil
        // Capacities for every question of every shard first: packing then depends only on the unit.
        var sizes: [Int] = []
        if let mcEvaluator { sizes.append(mcEvaluator.reserve(for: all)) }
        if let generationEvaluator { sizes.append(generationEvaluator.reserve(for: all)) }
        let costs = Dictionary(uniqueKeysWithValues: all.map { q in
            (q.id, (mcEvaluator?.tokenCost(of: q) ?? 0) + (generation ? maxNewTokens : 0))
        })
        let plan = EvaluationPlan(
            groups: groups.map(\.questionIDs), unitSize: EvaluationPlan.unitSize(sizes), cost: { costs[$0] ?? 1 })
        let mine = plan.shard(shard.index, of: shard.count)
        let header = EvaluationJournalHeader(
            fingerprint: base + planFingerprint(plan, units: mine, shard: shard), modelFile: lm.url.path,
            arguments: Array(CommandLine.arguments.dropFirst()))
        let journal = try EvaluationJournal(url: url, header: header)
        if journal.repairedBytes > 0 {
            printError("journal \(url.path): cut a torn last line (\(journal.repairedBytes) bytes); its unit will be redone")
        }
        let unitKey = { (g: Int, ids: [Int]) in "\(g):\(ids)" }
        var finished = Set(journal.entries.map { unitKey($0.group, $0.questions) })
        let todo = mine.filter { !finished.contains(unitKey(plan.units[$0].group, plan.units[$0].questionIDs)) }
        let shardQuestions = mine.reduce(0) { $0 + plan.units[$1].questionIDs.count }
        let todoQuestions = todo.reduce(0) { $0 + plan.units[$1].questionIDs.count }
        printError(
            "journal \(url.path) (\(journal.started ? "new" : "resumed")): shard \(shard) has \(mine.count) of \(plan.units.count) "
                + "units (≤ \(plan.unitSize) questions each), \(shardQuestions) questions; \(shardQuestions - todoQuestions) done, "
                + "\(todoQuestions) to do")

        let progress = ProgressReporter(label: "eval", unit: "questions")
        var done = 0
        for u in todo {
            let unit = plan.units[u]
            let group = groups[unit.group]
            let questions = tqa.questions(ids: unit.questionIDs)
            let key = "group \(unit.group)"  // one intervention per group
            let mcRun = try mcEvaluator?.evaluate(questions, intervention: group.intervention, prefixKey: key)
            let generated = try generationEvaluator?.evaluate(questions, intervention: group.intervention, prefixKey: key)
            try journal.append(EvaluationJournalEntry(
                group: unit.group, questions: unit.questionIDs, multipleChoice: mcRun,
                generation: generated?.answers, generationSummary: generated?.summary))
            finished.insert(unitKey(unit.group, unit.questionIDs))
            done += unit.questionIDs.count
            progress.update(done, todoQuestions, extra: "(\(group.name); shard \(shard): \(shardQuestions - todoQuestions + done)/\(shardQuestions))")
        }
        progress.finish()

        // Everything from the journal's lines, never from memory.
        let entries = try EvaluationJournal.read(url).entries
        var shardGroups = groups
        let owned = Set(mine.flatMap { u in plan.units[u].questionIDs.map { "\(plan.units[u].group):\($0)" } })
        for g in shardGroups.indices {
            shardGroups[g].questionIDs = groups[g].questionIDs.filter { owned.contains("\(g):\($0)") }
        }
        var results = try collect(entries: entries.map { ($0, url.path) }, groups: shardGroups)
        results.configuration = [
            ("journal", .string(url.path)), ("shard", .string(shard.description)), ("unit_size", .int(plan.unitSize)),
        ]
        return results
    }

    /// `--merge`: the shard journals' results, after checking each was written by this
    /// evaluation, the shards are 0..<n once each, and every question is present.
    func mergeJournals(
        groups: [Group], lm: LanguageModel, tqa: TruthfulQA, modelSHA: String, location: DataLocation
    ) throws -> JournaledResults {
        let base = try baseFingerprint(lm: lm, modelSHA: modelSHA, location: location, groups: groups)
        let expected = EvaluationJournalHeader(fingerprint: base, modelFile: lm.url.path, arguments: [])
        var byShard: [Int: (url: String, header: EvaluationJournalHeader, entries: [EvaluationJournalEntry])] = [:]
        var count: Int? = nil, unitSize: String? = nil
        for path in merge {
            let (header, entries) = try EvaluationJournal.read(URL(fileURLWithPath: path))
            try expected.check(header, file: path, ignoring: ["unit_size", "shard", "units_sha256"])
            guard let text = header.value("shard"), let shard = Shard(parsing: text) else {
                throw EvaluationJournalError(file: path, problem: "has no valid shard field")
            }
            if let count, count != shard.count {
                throw EvaluationJournalError(file: path, problem: "is shard \(shard) but another file is a shard of \(count)")
            }
            if let unitSize, unitSize != header.value("unit_size") {
                throw EvaluationJournalError(
                    file: path, problem: "has unit size \(header.value("unit_size") ?? "?"), another shard \(unitSize): they were planned differently")
            }
            if let other = byShard[shard.index] {
                throw EvaluationJournalError(file: path, problem: "is shard \(shard), like \(other.url)")
            }
            count = shard.count
            unitSize = header.value("unit_size")
            byShard[shard.index] = (path, header, entries)
        }
        let n = count ?? 0
        if let missing = (0..<n).first(where: { byShard[$0] == nil }) {
            throw RunFailure("--merge: shard \(missing)/\(n) is missing (give all \(n) shard journals)")
        }
        let results = try collect(
            entries: (0..<n).flatMap { s in byShard[s]!.entries.map { ($0, byShard[s]!.url) } }, groups: groups,
            resumeHint: { id, g in
                "--merge: question \(id) of \(groups[g].name) is in none of the \(n) shard journals: a shard has not "
                    + "finished; rerun it with the same options and its --journal and --shard, then merge again"
            })
        var r = results
        r.configuration = [
            ("merged_journals", .array(merge.map(JSONValue.string))), ("shards", .int(n)),
            ("unit_size", .string(unitSize ?? "?")),
        ]
        return r
    }

    /// Per-group MC runs and generations, in each group's question order, from journal entries
    /// (a unit seen twice counts once).
    func collect(
        entries: [(EvaluationJournalEntry, String)], groups: [Group],
        resumeHint: ((Int, Int) -> String)? = nil
    ) throws -> JournaledResults {
        var scores: [String: MultipleChoiceQuestionResult] = [:]
        var answers: [String: GeneratedAnswer] = [:]
        var mcTotals = [(tokens: Int, equivalent: Int, answers: Int, seconds: Double)](
            repeating: (0, 0, 0, 0), count: groups.count)
        var genTotals = [(tokens: Int, seconds: Double)](repeating: (0, 0), count: groups.count)
        var seen = Set<String>()
        for (entry, file) in entries {
            guard groups.indices.contains(entry.group) else {
                throw EvaluationJournalError(file: file, problem: "has a unit of group \(entry.group); this evaluation has \(groups.count)")
            }
            guard seen.insert("\(entry.group):\(entry.questions)").inserted else { continue }
            if mc {
                guard let run = entry.multipleChoice, run.results.map(\.questionID) == entry.questions else {
                    throw EvaluationJournalError(file: file, problem: "unit \(entry.questions) has no MC results for its questions")
                }
                for r in run.results { scores["\(entry.group):\(r.questionID)"] = r }
                mcTotals[entry.group].tokens += run.tokens
                mcTotals[entry.group].equivalent += run.equivalentTokens
                mcTotals[entry.group].answers += run.answerCount
                mcTotals[entry.group].seconds += run.seconds
            }
            if generation {
                guard let generated = entry.generation, generated.map(\.questionID) == entry.questions,
                    let summary = entry.generationSummary
                else {
                    throw EvaluationJournalError(file: file, problem: "unit \(entry.questions) has no generations for its questions")
                }
                for a in generated { answers["\(entry.group):\(a.questionID)"] = a }
                genTotals[entry.group].tokens += summary.tokens
                genTotals[entry.group].seconds += summary.seconds
            }
        }
        var mcRuns: [MultipleChoiceRun?] = Array(repeating: nil, count: groups.count)
        var generations: [([GeneratedAnswer], GenerationSummary)?] = Array(repeating: nil, count: groups.count)
        for (g, group) in groups.enumerated() {
            func missing(_ id: Int) -> Error {
                RunFailure(resumeHint?(id, g) ?? "question \(id) of \(group.name) is missing from the journal")
            }
            if mc {
                let results = try group.questionIDs.map { id in try scores["\(g):\(id)"] ?? { throw missing(id) }() }
                let t = mcTotals[g]
                mcRuns[g] = MultipleChoiceRun(
                    results: results, mean: .mean(results.map(\.metrics)), tokens: t.tokens,
                    equivalentTokens: t.equivalent, answerCount: t.answers, seconds: t.seconds)
            }
            if generation {
                let list = try group.questionIDs.map { id in try answers["\(g):\(id)"] ?? { throw missing(id) }() }
                generations[g] = (list, GenerationSummary(list, tokens: genTotals[g].tokens, seconds: genTotals[g].seconds))
            }
        }
        return JournaledResults(groups: groups, mcRuns: mcRuns, generations: generations, configuration: [])
    }

    /// The judges' journal at `path`: fingerprinted by both judges' sha256, the judged answers
    /// (question id and text, in order), the batch size and the numerics, so verdicts are only
    /// reused for the same answers judged the same way.
    func openJudgeJournal(_ path: String, judges: JudgePair, answers: [GeneratedAnswer]) throws -> JudgeJournal {
        typealias F = EvaluationJournalHeader.Field
        let answerText = answers.map { "\($0.questionID)\t\($0.answer)" }.joined(separator: "\n")
        let header = EvaluationJournalHeader(
            fingerprint: [
                F("truth_judge_sha256", try SHA256.hex(ofCheckpoint: judges.truth)),
                F("info_judge_sha256", try SHA256.hex(ofCheckpoint: judges.info)),
                F("answers", "\(answers.count)"), F("answers_sha256", SHA256.hex(Data(answerText.utf8))),
                F("judge_batch", "\(judgeBatch)"), F("weights", options.weights.rawValue),
                F("activation_quantization", options.activationQuantization.rawValue),
            ],
            modelFile: judges.truth.path, arguments: Array(CommandLine.arguments.dropFirst()), kind: JudgeJournal.kind)
        return try JudgeJournal(url: URL(fileURLWithPath: path), header: header)
    }
}
