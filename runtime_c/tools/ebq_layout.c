/* Prints sizeof/offsetof of the model format structs as JSON (checked against layout.py). */
#include <stddef.h>
#include <stdio.h>

#include "embbert/model_format.h"

#define F(S, f) printf("%s\"%s\": %zu", first++ ? ", " : "", #f, offsetof(S, f))

int main(void) {
    int first = 0;
    printf("{\"ebq_qtensor\": {\"sizeof\": %zu, \"offsetof\": {", sizeof(ebq_qtensor));
    F(ebq_qtensor, q); F(ebq_qtensor, scale); F(ebq_qtensor, outlier_idx);
    F(ebq_qtensor, outlier_w); F(ebq_qtensor, bias); F(ebq_qtensor, rows); F(ebq_qtensor, cols);
    F(ebq_qtensor, block); F(ebq_qtensor, n_blocks); F(ebq_qtensor, n_outliers);
    F(ebq_qtensor, reserved);
    first = 0;
    printf("}},\n \"ebq_layer\": {\"sizeof\": %zu, \"offsetof\": {", sizeof(ebq_layer));
    F(ebq_layer, q); F(ebq_layer, out); F(ebq_layer, dw); F(ebq_layer, pw);
    F(ebq_layer, h_scale); F(ebq_layer, h_inv);
    first = 0;
    printf("}},\n \"ebq_config\": {\"sizeof\": %zu, \"offsetof\": {", sizeof(ebq_config));
    F(ebq_config, vocab_size); F(ebq_config, max_len); F(ebq_config, d_model);
    F(ebq_config, reduced_dim); F(ebq_config, n_layers); F(ebq_config, conv_kernel);
    F(ebq_config, expansion); F(ebq_config, num_labels);
    first = 0;
    printf("}},\n \"ebq_model\": {\"sizeof\": %zu, \"offsetof\": {", sizeof(struct ebq_model));
    F(struct ebq_model, magic); F(struct ebq_model, format_version);
    F(struct ebq_model, quant_version); F(struct ebq_model, block); F(struct ebq_model, config);
    F(struct ebq_model, sha256); F(struct ebq_model, arena_bytes);
    F(struct ebq_model, max_outliers); F(struct ebq_model, max_h_outliers);
    F(struct ebq_model, rms_eps); F(struct ebq_model, tok_q); F(struct ebq_model, tok_scale);
    F(struct ebq_model, pos_q); F(struct ebq_model, pos_scale); F(struct ebq_model, tok_proj);
    F(struct ebq_model, pos_proj); F(struct ebq_model, seg); F(struct ebq_model, layers);
    F(struct ebq_model, classifier);
    printf("}}}\n");
    return 0;
}
