// The umbrella module: `import Locus` gives a Swift program every library module of the package
// (the same modules are also products of their own, e.g. `.product(name: "LocusSteering",
// package: "Locus")`, for programs that want fewer dependencies). Nothing is defined here.
@_exported import LocusTensor
@_exported import LocusCheckpoint
@_exported import LocusWeights
@_exported import LocusTokenizer
@_exported import LocusModel
@_exported import LocusInterventions
@_exported import LocusData
@_exported import LocusFigures
@_exported import LocusProbing
@_exported import LocusSteering
@_exported import LocusTracing
@_exported import LocusEditing
@_exported import LocusScrubbing
@_exported import LocusEvaluation
@_exported import LocusRecipes
