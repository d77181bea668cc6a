namespace Media.Embeddings.Packs;

/// <summary>A model pack is missing, malformed or does not match its ONNX files. The message names the pack file and the mismatch.</summary>
public sealed class ModelPackException(string message, Exception? inner = null) : Exception(message, inner);
