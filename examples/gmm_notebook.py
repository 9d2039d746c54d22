# The user's notebook (gmm-notebook.md, written for an old VLFeat wrapper on
# Python 2), ported to pyvl: only the import line and print() changed.

# %% Gaussian Mixture Models (GMM)
from random import random

import numpy as np

from pyvl.gmm import *

# %%
# generate some data for running
numData = 1000
dimension = 3

data = [random() for x in range(numData*dimension)]
array_data = np.asarray(data,dtype=np.float32)

# %%
print(type(array_data), array_data.shape)
print(array_data)

# %%
# create a new instance of a GMM object for float data
numClusters = 10
gmm = vl_gmm_new (VL_TYPE_FLOAT, dimension, numClusters) ;

# %%
# set the maximum number of EM iterations to 100
vl_gmm_set_max_num_iterations (gmm, 100) ;
# set the initialization to random selection
vl_gmm_set_initialization (gmm,VlGMMRand);

# %%
# cluster the data, i.e. learn the GMM
vl_gmm_cluster (gmm, array_data, numData);

# %%
print("num_data                 = ", vl_gmm_get_num_data(gmm))
print("dimension                = ", vl_gmm_get_dimension(gmm))
print("num_clusters             = ", vl_gmm_get_num_clusters(gmm))
print("verbosity                = ", vl_gmm_get_verbosity(gmm))
print("max_number_of_iterations = ", vl_gmm_get_max_num_iterations(gmm))

# %%
# get the means, covariances, and priors of the GMM
means = vl_gmm_get_means(gmm);
covariances = vl_gmm_get_covariances(gmm);
priors = vl_gmm_get_priors(gmm);

# %%
print(type(means), means.shape)
print(means)

# %%
print(type(covariances), covariances.shape)
print(covariances)

# %%
print(type(priors), priors.shape)
print(priors)

# %%
#get loglikelihood of the estimated GMM
loglikelihood = vl_gmm_get_loglikelihood(gmm)
print(loglikelihood)

# %%
# get the soft assignments of the data points to each cluster
posteriors = vl_gmm_get_posteriors(gmm)

# %%
print(type(posteriors), posteriors.shape)
print(posteriors)
