"""The filter bank's maths, CPU and GPU, each equal to the plain computation it replaces.

* :mod:`.methods` -- the names of the convolution methods and precisions;
* :mod:`.conv` -- both strands at once through one bank, window max pooling;
* :mod:`.kmer_conv` -- the k-mer table convolution of the CPU;
* :mod:`.fused` -- the table lookup fused with the window and strand maxima (numba);
* :mod:`.head` -- the dense head in float64, rounded once (the same bits whatever the batch);
* :mod:`.mutations` -- substitutions as local updates of cached activations (variants, ISM);
* :mod:`.presence` -- which sequences hold a site of which motif, one compiled pass of a motif bank;
* :mod:`.jit` -- numba compilation, cached on disk when a cache folder is writable.
"""
