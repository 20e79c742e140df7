"""ConvLens: depthwise and depthwise-separable convolution, step by step."""

__version__ = "0.1.0"
