#include "treatylog/hash.h"
int main(void)
{
    return tl_init() == TL_OK ? 0 : 1;
}
