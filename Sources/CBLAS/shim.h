// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h on the include path through
// the alternatives system) plus its thread-count control.
#include <cblas.h>
