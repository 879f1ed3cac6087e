/* FAKE generated model header (tests only); the real one comes from embbert-export. */
#ifndef MODEL_DATA_H
#define MODEL_DATA_H

#include "embbert/embbert.h"

extern const ebq_model ebq_model_data;

#define EBQ_ARENA_BYTES 4096u
#ifndef EBQ_BOARD_NAME
#define EBQ_BOARD_NAME "fake"
#endif
#ifndef EBQ_CLOCK_HZ
#define EBQ_CLOCK_HZ 0u
#endif

#endif /* MODEL_DATA_H */
