"""Teaching content, made in code: sample inputs and named kernels (``presets``), the
built-in photos (``photos``), and TF/Keras/PyTorch code for one configuration
(``codegen``). Pure NumPy and strings; it may import ``app.engine``, never the web.
"""
