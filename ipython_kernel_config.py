# Kernels of this virtual environment (JupyterLab's and the book's runs) leave
# output that C and C++ libraries write straight to the process's file
# descriptors in the terminal, instead of copying it into the notebook: that is
# TensorFlow's start-up log ("oneDNN custom operations are on", ...), which its
# TF_CPP_MIN_LOG_LEVEL setting no longer silences. Python's own output, warnings
# included, still reaches the notebook. `make setup` copies this file to
# .venv/etc/ipython/, where IPython looks for it.
c.IPKernelApp.capture_fd_output = False  # noqa: F821 (IPython defines c)
