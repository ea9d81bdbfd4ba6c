// Family-neutral names for the core types. The types keep their llama names until the lead's
// one mechanical rename at the end of the session (other branches edit code that names them);
// new code, and methods that stop naming llama types (issue 12 item 4), can use these now.

/// A decoder model of any registered family (`LlamaModel`).
public typealias DecoderModel = LlamaModel
/// The sizes and `Architecture` of a decoder model (`LlamaConfig`).
public typealias ModelConfig = LlamaConfig
/// All parameters of a decoder model (`LlamaWeights`).
public typealias ModelWeights = LlamaWeights
/// One block's parameters (`LlamaLayerWeights`); see its family-neutral handles
/// `mlpOutputProjection`, `attentionOutputProjection`, `attentionOutputBias()`.
public typealias LayerWeights = LlamaLayerWeights
