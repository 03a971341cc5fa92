//! asplitc: the driver, the ONNX frontend and the command line of the asplitc compiler.
