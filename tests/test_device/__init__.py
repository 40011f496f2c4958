# Copyright (c) densesiam_mm contributors. All rights reserved.
